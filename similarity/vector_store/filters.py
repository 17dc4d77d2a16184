"""Which products a search may return: filter conditions for the k-NN statements' WHERE."""

from collections.abc import Sequence

from django.db.models import QuerySet

from catalog.ranking_facts import VARIANT_GROUP_IDS

from .sql import Statement


def products_filter(
    *,
    allowed: QuerySet | None = None,
    exclude_product_ids: Sequence[int] = (),
    exclude_group_id: str = "",
    force_walk: bool = False,
) -> Statement:
    """Conditions (each ` AND ...`) restricting product_id to `allowed` (a Product queryset)
    and away from `exclude_product_ids` and the products of variant group `exclude_group_id`.

    A semi-join, so PostgreSQL picks the plan: for a broad filter the HNSW scan drives and each
    row it yields costs one primary-key probe (pgvector's iterative scan reads on until k rows
    pass); for a narrow one the allowed products drive. `= ANY(ARRAY(subquery))`, used before,
    searched the unhashed array linearly for every row the index yielded (bench/ notes).

    force_walk (benchmarks only) tests `(product_id + 0)` against `allowed`, so no b-tree can
    serve the filter and the planner has only the HNSW walk or a full scan left.
    """
    parts = []
    if allowed is not None:
        # order_by(): the model's default ordering would sort the subquery for nothing.
        subquery, sub_params = allowed.order_by().values("pk").query.sql_with_params()
        column = "(product_id + 0)" if force_walk else "product_id"
        parts.append(Statement(f" AND {column} IN ({subquery})", tuple(sub_params)))
    elif force_walk:
        raise ValueError("force_walk needs an `allowed` filter to force the walk on")
    if exclude_product_ids:
        parts.append(Statement(" AND NOT (product_id = ANY(%s))", (list(exclude_product_ids),)))
    if exclude_group_id:
        group = f" AND product_id NOT IN ({VARIANT_GROUP_IDS})"
        parts.append(Statement(group, (exclude_group_id,)))
    return Statement.join("", parts)
