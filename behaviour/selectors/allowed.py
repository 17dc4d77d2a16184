"""A tier's ranked candidates and which of them the request's filters allow, in one statement.

Each tier reads a short ranked list (a product's partners, the trending products) and keeps the
products the filters allow. Asked as two queries, that was two round trips and two ORM
compilations per tier, most of an uncached list's own CPU time (bench/behaviour_serving.py,
"where a request's time goes"). Here the filter (catalog's matching_ids_sql, compiled once per
tier) is applied inside the same statement, to the candidates' ids only (primary-key lookups),
never to the whole catalogue.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter

# `top` yields (id, source, score, count) rows, best first; the allowed ids come back as rows
# without a source. MATERIALIZED: the ranked list is read once and its row estimate (its
# LIMIT) is what steers the filter's join to index lookups.
CANDIDATES_SQL = (
    "WITH top AS MATERIALIZED ({top}) "
    "SELECT id, source, score, count FROM top "
    "UNION ALL SELECT allowed.id, NULL, NULL, NULL FROM ({allowed}) AS allowed(id) "
    "WHERE allowed.id IN (SELECT id FROM top UNION SELECT unnest(%s::bigint[]))"
)


@dataclass(frozen=True)
class RankedRow:
    id: int
    source: int
    score: float
    count: int


def candidates_allowed(
    top_sql: str,
    top_params: Sequence,
    product_filter: ProductFilter,
    *,
    also_check: Sequence[int] = (),
) -> tuple[list[RankedRow], set[int]]:
    """The rows of `top_sql` (columns id, source, score, count) in its order, and which of
    their ids (and of `also_check`) name products that `product_filter` allows."""
    allowed_sql, allowed_params = catalog_selectors.matching_ids_sql(product_filter=product_filter)
    sql = CANDIDATES_SQL.format(top=top_sql, allowed=allowed_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*top_params, *allowed_params, list(also_check)])
        fetched = cursor.fetchall()
    rows = [RankedRow(*row) for row in fetched if row[1] is not None]
    return rows, {row[0] for row in fetched if row[1] is None}


def ranked_allowed(
    top_sql: str, top_params: Sequence, product_filter: ProductFilter
) -> list[RankedRow]:
    """The rows of `top_sql` that `product_filter` allows, in its order: `top_sql` names the
    allowed ids `{allowed}` itself, so its LIMIT counts allowed rows only (a ranking within the
    filter, for when the best rows overall hold too few allowed ones)."""
    allowed_sql, allowed_params = catalog_selectors.matching_ids_sql(product_filter=product_filter)
    with connection.cursor() as cursor:
        cursor.execute(top_sql.format(allowed=allowed_sql), [*top_params, *allowed_params])
        return [RankedRow(*row) for row in cursor.fetchall()]
