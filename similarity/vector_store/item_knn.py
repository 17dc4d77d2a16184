"""Nearest item vectors by maximum inner product: one owner's rows (an ItemVectorSet, written by
item_vectors.py), through the owner's HNSW index."""

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction

from .item_vectors import ItemVectorSet
from .knn import Neighbour
from .session import DEFAULT_EF_SEARCH, search_cursor
from .sql import Statement, vector_literal

# pgvector's `<#>` is the negative inner product, so the nearest rows have the largest one.
_NEAREST = (
    "SELECT product_id, {column} <#> {query} AS distance FROM {table} "
    "WHERE {owner_column} = {owner}{exclude} ORDER BY {column} <#> {query} LIMIT {limit}"
)


def item_vectors_statement(
    vector_set: ItemVectorSet, *, vector: np.ndarray, k: int, exclude_product_ids: Sequence[int]
) -> Statement:
    """The k products of the owner whose vectors have the largest inner product with `vector`,
    as rows (product_id, distance = minus the inner product), through the owner's index."""
    query = Statement(f"%s::vector({int(vector_set.dim)})", (vector_literal(vector),))
    exclude = Statement("")
    if exclude_product_ids:
        exclude = Statement(" AND NOT (product_id = ANY(%s))", (list(exclude_product_ids),))
    return Statement.compose(
        _NEAREST,
        column=vector_set.column,
        query=query,
        table=vector_set.table,
        owner_column=vector_set.owner_column,
        owner=int(vector_set.owner),
        exclude=exclude,
        limit=int(k),
    )


def item_vectors_nearest(
    vector_set: ItemVectorSet,
    *,
    vector: np.ndarray,
    k: int,
    exclude_product_ids: Sequence[int] = (),
    ef_search: int = DEFAULT_EF_SEARCH,
) -> list[Neighbour]:
    """As item_vectors_statement(), run: the neighbours, largest inner product first."""
    statement = item_vectors_statement(
        vector_set, vector=vector, k=k, exclude_product_ids=exclude_product_ids
    )
    with search_cursor(ef_search=max(ef_search, k), exact=False) as cursor:
        cursor.execute(statement.sql, statement.params)
        rows = cursor.fetchall()
    # The iterative scan's relaxed order may return rows slightly out of order.
    return sorted((Neighbour(row[0], float(row[1])) for row in rows), key=lambda n: n.distance)


def item_vectors_explain(vector_set: ItemVectorSet, *, vector: np.ndarray, k: int) -> str:
    """EXPLAIN of the nearest statement (tests prove the owner's HNSW index serves it)."""
    statement = item_vectors_statement(vector_set, vector=vector, k=k, exclude_product_ids=())
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny test tables favour scanning and sorting every row over any index.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + statement.sql, statement.params)
        return "\n".join(row[0] for row in cursor.fetchall())
