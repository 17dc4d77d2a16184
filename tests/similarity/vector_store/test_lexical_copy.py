"""The lexical rows' bulk COPY (a binary payload built in NumPy) stores what the row-by-row
write of a refresh stores, so a rebuilt index and a refreshed one agree to the bit."""

import hashlib

import numpy as np
import pytest
from scipy import sparse

from similarity import vector_store
from similarity.ml.lexical import DIMENSIONS
from similarity.models import LexicalIndex, ProductText
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def lexical_index() -> LexicalIndex:
    return LexicalIndex.objects.create(documents=1, idf={}, config={}, tuning={})


def stored(index: LexicalIndex) -> list[tuple]:
    rows = ProductText.objects.filter(lexical_index=index).order_by("product_id")
    return [
        (
            row.product_id,
            row.vector.dimensions(),
            row.vector.indices(),
            row.vector.values(),
            np.asarray(row.sketch).tolist(),
            row.text_sha256,
        )
        for row in rows
    ]


def test_the_bulk_copy_stores_exactly_what_the_row_by_row_write_stores():
    products = [product(sku=f"P{i}").pk for i in range(4)]
    rng = np.random.default_rng(5)
    # Rows of 40, 1, 0 (skipped by both) and 25 entries, the last up to the last bucket.
    lengths = [40, 1, 0, 25]
    indices = np.concatenate(
        [np.sort(rng.choice(DIMENSIONS - 1, n, replace=False)) for n in lengths[:3]]
        + [np.append(np.sort(rng.choice(DIMENSIONS - 1, 24, replace=False)), DIMENSIONS - 1)]
    )
    values = rng.uniform(0.01, 1.0, len(indices)).astype(np.float32)
    matrix = sparse.csr_matrix(
        (values, indices, np.concatenate([[0], np.cumsum(lengths)])), shape=(4, DIMENSIONS)
    )
    shas = [hashlib.sha256(str(pid).encode()).hexdigest() for pid in products]
    copied, written = lexical_index(), lexical_index()

    rows = vector_store.product_texts_copy(
        index=copied, product_ids=products, matrix=matrix, shas=shas
    )
    vector_store.product_texts_write(index=written, product_ids=products, matrix=matrix, shas=shas)

    assert rows == 3
    assert [row[0] for row in stored(copied)] == [products[0], products[1], products[3]]
    assert stored(copied) == stored(written)
