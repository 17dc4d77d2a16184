"""The lexical index in pgvector: rows written in bulk, one sketch HNSW per lexical index, and
the nearest-texts statement that walks the sketch and ranks by the exact sparse cosine.

A full rebuild writes a new lexical index's rows by binary COPY with no index covering them,
then builds that index's HNSW once (pgvector's bulk build, in parallel), then switches. Why a
new set of rows beside the old rather than dropping and recreating the index in place: queries
keep reading the current index's rows through its own HNSW until the switch, so search never
falls back to a scan of the whole table or answers from half-written rows. Incremental
refreshes write their few rows through the current index's HNSW, row by row.
"""

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction
from pgvector import HalfVector
from scipy import sparse as sp

from catalog.models import Product
from similarity.ml.lexical.sketch import sketch_rows

from ..models import LexicalIndex, ProductText
from .sql import Statement, sparse

SKETCH_FUNCTION = "prodsim_lexical_sketch"  # created by migration 0011 (SKETCH_SQL)
# Sketch neighbours re-ranked by the exact cosine: 100 and 200 measured on both dev sets;
# 200 kept abt-buy's R@1 within 0.002 of the exact scan (100: within 0.004).
CANDIDATES = 200
# The sketch walk's ef_search where a statement walks only the sketch (/match, text search):
# a wider walk than the session's buys back what the graph's cheaper build (lexical_hnsw) costs.
SKETCH_EF_SEARCH = 400

# Nearest products by words: the sketch's nearest `candidates` through the index's HNSW, then
# the exact cosine of the sparse vectors decides. The query's sketch is computed once, in SQL,
# so a stored product's vector (the ranking statement's source) needs no round trip.
_THROUGH_THE_SKETCH = (
    "SELECT product_id, vector <=> {query} AS distance FROM ("
    "SELECT product_id, vector FROM similarity_producttext "
    "WHERE lexical_index_id = {owner} {where} "
    "ORDER BY sketch <=> (SELECT " + SKETCH_FUNCTION + "({query})) LIMIT {candidates}"
    ") AS near ORDER BY distance LIMIT {limit}"
)


def sketch_knn(index: LexicalIndex, *, query: Statement, limit: int, where: Statement) -> Statement:
    """The `limit` products of `index` nearest to the sparse `query` (rows product_id,
    distance), candidates from the sketch HNSW ranked by exact cosine distance."""
    return Statement.compose(
        _THROUGH_THE_SKETCH,
        query=query,
        owner=int(index.pk),
        where=where,
        candidates=max(CANDIDATES, 2 * int(limit)),
        limit=int(limit),
    )


def lexical_rows(matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """The vectors as stored (float32 CSR, no zeros, sorted indexes) and their sketches."""
    matrix = matrix.tocsr().astype(np.float32)
    matrix.eliminate_zeros()  # sparsevec stores no zeros
    matrix.sort_indices()  # and wants its indexes ascending
    return matrix, sketch_rows(matrix)


def product_texts_write(
    *, index: LexicalIndex, product_ids: Sequence[int], matrix: sp.csr_matrix, shas: Sequence[str]
) -> list[int]:
    """Insert or replace these products' rows of `index`; returns the products written.

    Empty vectors (no indexable term) are skipped: a row without terms matches nothing."""
    matrix, sketches = lexical_rows(matrix)
    rows = []
    for row, (product_id, sha) in enumerate(zip(product_ids, shas, strict=True)):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if start == end:
            continue
        vector = dict(
            zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True)
        )
        rows.append(
            ProductText(
                lexical_index=index,
                product_id=product_id,
                vector=sparse(vector),
                sketch=HalfVector(sketches[row]),
                text_sha256=sha,
            )
        )
    with transaction.atomic():
        # A refresh reads its products before it vectorises them; one deleted meanwhile would
        # fail the foreign key and with it the refresh of every other product. Skipped instead,
        # the others locked against deletion until their rows commit.
        existing = rows_of_existing_products([row.product_id for row in rows])
        rows = [rows[position] for position in existing]
        ProductText.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["lexical_index", "product"],
            update_fields=["vector", "sketch", "text_sha256"],
            batch_size=500,
        )
    return [row.product_id for row in rows]


def rows_of_existing_products(product_ids: Sequence[int]) -> list[int]:
    """The positions in `product_ids` of the products that still exist, each locked against
    deletion (FOR KEY SHARE: edits go on) until the transaction ends."""
    table, key = Product._meta.db_table, Product._meta.pk.column
    with connection.cursor() as cursor:
        ids = [int(product_id) for product_id in product_ids]
        cursor.execute(f"SELECT {key} FROM {table} WHERE {key} = ANY(%s) FOR KEY SHARE", [ids])
        existing = {row[0] for row in cursor.fetchall()}
    return [row for row, product_id in enumerate(product_ids) if product_id in existing]
