"""Writing the derived lists from the counts: each product's best partners, and trending.

Both run inside the refresh's transaction, so a reader sees a product's old list or its new one.
A full rebuild replaces every list; an increment replaces only the lists of products whose pairs
moved. Lists hold active products only: counts cover every event (a product deactivated and
back keeps its history), the catalogue's state is applied here.
"""

import numpy as np
from django.db import connection

from behaviour.ml import cooccurrence, scorers

from ..models import ItemAssociation, ProductPopularity

ASSOCIATION_COLUMNS = "(kind, product_id, other_id, score, support, recent)"
POPULARITY_COLUMNS = "(product_id, score, purchases, views)"
# Partners kept per product and kind: a list asked for more (the API's k goes to 100) fills the
# rest from the tiers below, as the README and the endpoints say. Keeping 100 was weighed on
# the bench's history (100,000 products, 134,107 orders): bought-together rows 510,527 → 644,707
# (+26 %), the rows an increment rewrites for its popular products up to 3.3 times, and the
# filtered lists reading every stored partner of ten neighbours (selectors.tiers) 1,000 rows
# instead of 300, for answers rarely asked beyond a page's 8 to 20 items.
PARTNERS_PER_PRODUCT = 30
VIEW_SHARE = 0.1  # a view trends a tenth of a purchase, so a shop without orders still trends
# Chosen on the dev protocol's validation split (docs/BENCHMARKS.md lists every scorer measured):
# raw decayed co-purchase counts beat every popularity-corrected score (cosine, LLR, lift,
# Jaccard, shrunk cosine, conditional) at every half-life, because the protocol rewards partners
# often bought with the item, which is what the counts estimate.
SCORER = cooccurrence.DEFAULT_SCORER
SCORER_PARAMS: dict = {}


def active_ids(ids: np.ndarray) -> np.ndarray:
    """The active products among `ids` (int64), ascending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM catalog_product WHERE is_active AND id = ANY(%s)", [ids.tolist()]
        )
        return np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))


def ranked_partners(pairs: dict, item_weights: np.ndarray, total: float, factor: float) -> dict:
    """Each row product's best partners among `pairs`.

    pairs: (nnz,) arrays rows, cols (indices into item_weights), weight, recent; item_weights:
    (n,) n_i; total: N. Weights are multiplied by `factor` (from the reference time to now)
    before scoring. Returns rows, cols, scores, support, recent of the kept pairs.
    """
    n = len(item_weights)
    rows, cols = pairs["rows"], pairs["cols"]
    co = cooccurrence.Cooccurrence(
        rows=rows,
        cols=cols,
        counts=pairs["weight"] * factor,
        item_counts=item_weights * factor,
        n_baskets=total * factor,
    )
    scores = scorers.score(co, SCORER, **SCORER_PARAMS)
    top, top_scores = scorers.top_k(
        rows, cols, scores, n, k=PARTNERS_PER_PRODUCT, tie_break=co.item_counts
    )
    kept_rows, ranks = np.nonzero(top >= 0)
    kept_cols = top[kept_rows, ranks]
    keys = rows * np.int64(n) + cols
    order = np.argsort(keys, kind="stable")
    at = order[np.searchsorted(keys, kept_rows * np.int64(n) + kept_cols, sorter=order)]
    return {
        "rows": kept_rows,
        "cols": kept_cols,
        "scores": top_scores[kept_rows, ranks],
        "support": co.counts[at],
        "recent": pairs["recent"][at],
    }


def associations_replace(kind: str, partners: dict, ids: np.ndarray, products=None) -> int:
    """The lists of `products` (ids; None: every product) become `partners` (ranked_partners
    over indices into ids); the rows written."""
    rows = ItemAssociation.objects.filter(kind=kind)
    if products is not None:
        rows = rows.filter(product_id__in=np.asarray(products).tolist())
    rows.delete()  # nothing hangs on these rows: one DELETE
    values = zip(
        ids[partners["rows"]].tolist(),
        ids[partners["cols"]].tolist(),
        partners["scores"].tolist(),
        partners["support"].tolist(),
        np.rint(partners["recent"]).astype(np.int64).tolist(),
        strict=True,
    )
    with connection.cursor() as cursor:
        table = ItemAssociation._meta.db_table
        with cursor.copy(f"COPY {table} {ASSOCIATION_COLUMNS} FROM STDIN") as copy:
            for product, other, score, support, recent in values:
                copy.write_row((kind, product, other, score, support, recent))
    return len(partners["rows"])


def popularity_replace(ids: np.ndarray, purchases: np.ndarray, views: np.ndarray, products=None):
    """Trending rows of `products` (None: all) from (len(ids), 3) purchase and view counts
    (weight, events, recent); the score is at the counts' reference time, the same for every
    row, so rows written by different refreshes rank together. Returns the rows written."""
    rows = ProductPopularity.objects.all()
    if products is not None:
        rows = rows.filter(product_id__in=np.asarray(products).tolist())
    rows.delete()
    score = purchases[:, 0] + VIEW_SHARE * views[:, 0]
    kept = np.flatnonzero(score > 0)
    kept = kept[np.isin(ids[kept], active_ids(ids[kept]))]
    with connection.cursor() as cursor:
        table = ProductPopularity._meta.db_table
        with cursor.copy(f"COPY {table} {POPULARITY_COLUMNS} FROM STDIN") as copy:
            for i in kept.tolist():
                copy.write_row(
                    (int(ids[i]), float(score[i]), int(purchases[i, 2]), int(views[i, 2]))
                )
    return len(kept)
