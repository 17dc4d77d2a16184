"""Item vectors by inner product (vector_store.item_vectors), on a real table: behaviour's
sequence item vectors, the one table that uses it."""

import numpy as np
import pytest

from behaviour.models import SequenceItemVector, SequenceModelVersion
from similarity import vector_store
from similarity.vector_store import ItemVectorSet
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db
DIM = 8


@pytest.fixture
def catalogue() -> list[int]:
    return [product(sku=f"P{n}", title=f"Product {n}").pk for n in range(30)]


def vector_set(dim: int = DIM) -> ItemVectorSet:
    version = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    return ItemVectorSet(
        table=SequenceItemVector._meta.db_table,
        owner_column="version_id",
        owner=version.pk,
        dim=dim,
    )


def stored(owner: ItemVectorSet) -> dict[int, np.ndarray]:
    rows = SequenceItemVector.objects.filter(version_id=owner.owner)
    return {
        pid: np.asarray(vector, np.float32)
        for pid, vector in rows.values_list("product_id", "vector")
    }


def test_written_vectors_read_back_exactly_and_a_rewrite_replaces_them(catalogue):
    owner, rng = vector_set(), np.random.default_rng(1)
    vectors = rng.normal(size=(len(catalogue), DIM)).astype(np.float32)

    assert vector_store.item_vectors_write(owner, product_ids=catalogue, vectors=vectors) == 30
    assert vector_store.item_vectors_write(owner, product_ids=catalogue[:5], vectors=vectors[:5])

    found = stored(owner)
    assert sorted(found) == sorted(catalogue[:5])
    for pid, vector in zip(catalogue[:5], vectors[:5], strict=True):
        np.testing.assert_array_equal(found[pid], vector)


def test_the_nearest_are_the_largest_inner_products_without_the_excluded(catalogue):
    owner, rng = vector_set(), np.random.default_rng(2)
    vectors = rng.normal(size=(len(catalogue), DIM)).astype(np.float32)
    vector_store.item_vectors_write(owner, product_ids=catalogue, vectors=vectors)
    vector_store.item_vectors_index_build(owner)
    query = rng.normal(size=DIM).astype(np.float32)
    order = [catalogue[i] for i in np.argsort(-(vectors @ query))]

    found = vector_store.item_vectors_nearest(
        owner, vector=query, k=5, exclude_product_ids=order[:2]
    )

    assert [n.product_id for n in found] == order[2:7]  # 30 rows: the index search is exact
    np.testing.assert_allclose(
        [-n.distance for n in found], np.sort(vectors @ query)[::-1][2:7], rtol=1e-5
    )


def test_the_owners_hnsw_index_serves_the_search(catalogue):
    owner = vector_set()
    vectors = np.ones((len(catalogue), DIM), np.float32)
    vector_store.item_vectors_write(owner, product_ids=catalogue, vectors=vectors)
    vector_store.item_vectors_index_build(owner)

    plan = vector_store.item_vectors_explain(owner, vector=np.ones(DIM, np.float32), k=5)

    assert f"Index Scan using {owner.index_name}" in plan


def test_two_owners_never_mix(catalogue):
    first, second = vector_set(), vector_set()
    vector_store.item_vectors_write(
        first, product_ids=catalogue[:3], vectors=np.ones((3, DIM), np.float32)
    )
    vector_store.item_vectors_write(
        second, product_ids=catalogue[3:6], vectors=np.ones((3, DIM), np.float32)
    )

    found = vector_store.item_vectors_nearest(second, vector=np.ones(DIM, np.float32), k=10)

    assert sorted(n.product_id for n in found) == sorted(catalogue[3:6])


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.ones((30, DIM + 1), np.float32), r"vectors are \(30, 9\), expected \(30, 8\)"),
        (np.full((30, DIM), np.nan, np.float32), "vectors hold NaN or infinite values"),
    ],
)
def test_bad_vectors_are_refused_and_the_stored_ones_kept(catalogue, vectors, message):
    owner = vector_set()
    good = np.ones((len(catalogue), DIM), np.float32)
    vector_store.item_vectors_write(owner, product_ids=catalogue, vectors=good)

    with pytest.raises(ValueError, match=message):
        vector_store.item_vectors_write(owner, product_ids=catalogue, vectors=vectors)

    assert len(stored(owner)) == 30
