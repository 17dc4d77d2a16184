"""The counts the incremental refresh keeps (PairCount, ItemCount): written whole by a full
rebuild, added to by an increment, read back for the lists of the products whose pairs moved.

Pairs are stored in both directions, so a product's partners are one primary-key range; a pair or
item whose plain basket count falls to 0 is deleted (its weight is 0 exactly, no rounding residue).
"""

import numpy as np
from django.conf import settings
from django.db import connection

from behaviour.ml import pair_counts
from behaviour.ml.cooccurrence import MAX_BASKET

from ..models import ItemCount
from .refresh_counts import TRENDING_PURCHASES, TRENDING_VIEWS, Counts

PAIR_COLUMNS = "(kind, product_id, other_id, weight, baskets, recent)"
ITEM_COLUMNS = "(kind, product_id, weight, baskets, recent)"
# A pair or item whose baskets fall to 0 has weight 0 exactly (no rounding residue left).
PAIR_UPSERT_SQL = f"""
INSERT INTO behaviour_paircount AS c {PAIR_COLUMNS}
SELECT %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::int[], %s::int[])
ON CONFLICT (kind, product_id, other_id) DO UPDATE SET
  weight = CASE WHEN c.baskets + excluded.baskets = 0 THEN 0 ELSE c.weight + excluded.weight END,
  baskets = c.baskets + excluded.baskets, recent = c.recent + excluded.recent
"""
ITEM_UPSERT_SQL = f"""
INSERT INTO behaviour_itemcount AS c {ITEM_COLUMNS}
SELECT %s, * FROM unnest(%s::bigint[], %s::float8[], %s::int[], %s::int[])
ON CONFLICT (kind, product_id) DO UPDATE SET
  weight = CASE WHEN c.baskets + excluded.baskets = 0 THEN 0 ELSE c.weight + excluded.weight END,
  baskets = c.baskets + excluded.baskets, recent = c.recent + excluded.recent
"""
# A product's best partners as ranked_partners ranks them with the raw scorer: decayed count,
# then the partner's own count, then its id; ranked here, so only k rows a product travel.
RANKED_PAIRS_SQL = """
SELECT product_id, other_id, weight, recent FROM (
  SELECT c.product_id, c.other_id, c.weight, c.recent, row_number() OVER (
    PARTITION BY c.product_id ORDER BY c.weight DESC, coalesce(i.weight, 0) DESC, c.other_id
  ) AS rank
  FROM behaviour_paircount c
  JOIN catalog_product p ON p.id = c.product_id AND p.is_active
  JOIN catalog_product o ON o.id = c.other_id AND o.is_active
  LEFT JOIN behaviour_itemcount i ON i.kind = c.kind AND i.product_id = c.other_id
  WHERE c.kind = %s AND c.product_id = ANY(%s) AND c.baskets > 0
) ranked WHERE rank <= %s
"""

# Every refresh keeps trending rows of active products only (WITHDRAWN_TRENDING_SQL drops the
# rows of products withdrawn since), so a product is back on sale when it is active, counted by
# trending (every product with events is) and without a trending row: withdrawn when its lists,
# or lists that may name it, were last written.
WITHDRAWN_TRENDING_SQL = (
    "DELETE FROM behaviour_productpopularity t USING catalog_product p "
    "WHERE p.id = t.product_id AND NOT p.is_active"
)
BACK_ON_SALE_SQL = """
SELECT DISTINCT i.product_id FROM behaviour_itemcount i
JOIN catalog_product p ON p.id = i.product_id AND p.is_active
WHERE i.kind = ANY(%s) AND i.weight > 0 AND NOT EXISTS (
  SELECT FROM behaviour_productpopularity t WHERE t.product_id = i.product_id
)
"""
PARTNERS_SQL = (
    "SELECT DISTINCT other_id FROM behaviour_paircount WHERE kind = %s AND product_id = ANY(%s)"
)


def settings_key() -> str:
    """The settings the counts depend on: another value means a full rebuild."""
    return "|".join(
        str(value)
        for value in (
            settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS,
            settings.PRODSIM_TRENDING_HALF_LIFE_DAYS,
            settings.PRODSIM_BEHAVIOUR_WHY_DAYS,
            settings.PRODSIM_SESSION_GAP_S,
            MAX_BASKET,
        )
    )


def counts_replace(counts: Counts) -> None:
    """The kept counts become `counts` (a full rebuild): emptied, then written with COPY."""
    ids = counts.product_ids
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE behaviour_paircount, behaviour_itemcount")
        with cursor.copy(f"COPY behaviour_paircount {PAIR_COLUMNS} FROM STDIN") as copy:
            for kind, co in counts.baskets.items():
                _copy_pairs(copy, kind, ids, co)
        with cursor.copy(f"COPY behaviour_itemcount {ITEM_COLUMNS} FROM STDIN") as copy:
            for kind, values in _item_values(counts).items():
                at = np.flatnonzero(values[:, pair_counts.BASKETS] > 0)
                for product, row in zip(ids[at].tolist(), values[at].tolist(), strict=True):
                    copy.write_row((kind, product, row[0], int(row[1]), int(row[2])))


def _copy_pairs(copy, kind: str, ids: np.ndarray, co: pair_counts.PairCounts) -> None:
    rows = zip(
        ids[co.rows].tolist(),
        ids[co.cols].tolist(),
        co.pair_values.tolist(),
        strict=True,
    )
    for product, other, (weight, baskets, recent) in rows:
        copy.write_row((kind, product, other, weight, int(baskets), int(recent)))


def _item_values(counts: Counts) -> dict[str, np.ndarray]:
    values = {kind: co.item_values for kind, co in counts.baskets.items()}
    return {**values, **counts.trending}


def counts_add(counts: Counts) -> dict[str, np.ndarray]:
    """Add an increment to the kept counts; {kind: product ids whose counts moved}."""
    ids, moved = counts.product_ids, {}
    with connection.cursor() as cursor:
        for kind, co in counts.baskets.items():
            values = co.pair_values
            cursor.execute(
                PAIR_UPSERT_SQL,
                [kind, ids[co.rows].tolist(), ids[co.cols].tolist(), values[:, 0].tolist()]
                + [np.rint(values[:, c]).astype(np.int64).tolist() for c in (1, 2)],
            )
            moved[kind] = np.unique(ids[co.rows])
        for kind, values in _item_values(counts).items():
            at = np.flatnonzero(np.any(values != 0, axis=1))
            cursor.execute(
                ITEM_UPSERT_SQL,
                [kind, ids[at].tolist(), values[at, 0].tolist()]
                + [np.rint(values[at, c]).astype(np.int64).tolist() for c in (1, 2)],
            )
            moved.setdefault(kind, ids[at])
        touched = np.unique(np.concatenate([np.zeros(0, np.int64), *moved.values()])).tolist()
        for table in ("behaviour_paircount", "behaviour_itemcount"):
            cursor.execute(
                f"DELETE FROM {table} WHERE product_id = ANY(%s) AND baskets <= 0 AND recent <= 0",
                [touched],
            )
    return moved


def ranked_pairs_of(kind: str, products: np.ndarray, k: int) -> tuple[np.ndarray, dict]:
    """The k best kept partners of each of `products` among active products: (ids (n,), pairs
    rows, cols (indices into ids), weight, recent (kept values))."""
    with connection.cursor() as cursor:
        cursor.execute(RANKED_PAIRS_SQL, [kind, products.tolist(), k])
        rows = cursor.fetchall()
    product, other, weight, recent = (
        np.array(column) for column in (zip(*rows, strict=True) if rows else ([],) * 4)
    )
    ids, index = np.unique(np.concatenate([product, other]).astype(np.int64), return_inverse=True)
    pairs = {
        "rows": index[: len(product)].astype(np.int64),
        "cols": index[len(product) :].astype(np.int64),
        "weight": weight.astype(np.float64),
        "recent": recent.astype(np.float64),
    }
    return ids, pairs


def item_values(kind: str, ids: np.ndarray) -> np.ndarray:
    """Kept (len(ids), 3) weight, baskets (events), recent of each product by kind."""
    found = {
        row[0]: row[1:]
        for row in ItemCount.objects.filter(kind=kind, product_id__in=ids.tolist()).values_list(
            "product_id", "weight", "baskets", "recent"
        )
    }
    return np.array([found.get(i, (0.0, 0, 0)) for i in ids.tolist()], dtype=np.float64).reshape(
        len(ids), 3
    )


def withdrawn_trending_drop() -> None:
    """Drops the trending rows of products withdrawn since the last refresh: lists written from
    now on leave them out, and products_back_on_sale finds them again once they are back."""
    with connection.cursor() as cursor:
        cursor.execute(WITHDRAWN_TRENDING_SQL)


def products_back_on_sale() -> np.ndarray:
    """Ids (int64, ascending) of products back on sale since lists that may name them were
    written: lists hold active products only, and nothing else would rank them again before
    the daily rebuild."""
    with connection.cursor() as cursor:
        cursor.execute(BACK_ON_SALE_SQL, [[TRENDING_PURCHASES, TRENDING_VIEWS]])
        return np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))


def with_partners(kind: str, products: np.ndarray) -> np.ndarray:
    """`products` and every product counted with one of them (int64, ascending): the lists that
    may name them."""
    if not len(products):
        return products.astype(np.int64)
    with connection.cursor() as cursor:
        cursor.execute(PARTNERS_SQL, [kind, products.tolist()])
        partners = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
    return np.union1d(products.astype(np.int64), partners)
