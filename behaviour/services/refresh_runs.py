"""The two kinds of refresh: a full rebuild from every event, and an increment from the events
new since the last refresh (module docstring of behaviour.services.refresh). Each returns its
stats and the basket totals (N of the scorers) per kind."""

import datetime as dt

import numpy as np
from django.conf import settings

from behaviour.ml import pair_counts
from behaviour.ml.cooccurrence import SECONDS_PER_DAY

from ..models import BehaviourCountState
from . import refresh_lines, refresh_state
from .association_writes import (
    PARTNERS_PER_PRODUCT,
    active_ids,
    associations_replace,
    popularity_replace,
    ranked_partners,
)
from .event_arrays import arrays_of, event_arrays
from .refresh_counts import (
    BASKET_KINDS,
    TRENDING_PURCHASES,
    TRENDING_VIEWS,
    counts_all,
    counts_change,
)
from .retention import events_cutoff

NONE = np.zeros(0, dtype=np.int64)


def rebuild(now: float) -> tuple[dict, dict]:
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC)  # the reference increments cut at too
    arrays = event_arrays(refresh_lines.ALL_LINES_SQL, {"cutoff": events_cutoff(moment)})
    counts = counts_all(arrays, reference=now, now=now)
    refresh_state.counts_replace(counts)
    ids = arrays.product_ids
    active = active_ids(ids)
    stats: dict = {"events": len(arrays.products), "products": len(ids)}
    for kind, co in counts.baskets.items():
        kept = np.isin(ids[co.rows], active) & np.isin(ids[co.cols], active)
        kept &= co.pair_values[:, pair_counts.BASKETS] > 0
        pairs = _pairs(co, kept)
        partners = ranked_partners(pairs, co.item_values[:, 0], co.totals[0], factor=1.0)
        stats[str(kind)] = associations_replace(kind, partners, ids)
    trending = counts.trending
    stats["trending"] = popularity_replace(
        ids, trending[TRENDING_PURCHASES], trending[TRENDING_VIEWS]
    )
    return stats, {kind: co.totals.tolist() for kind, co in counts.baskets.items()}


def _pairs(co: pair_counts.PairCounts, kept: np.ndarray) -> dict:
    return {
        "rows": co.rows[kept],
        "cols": co.cols[kept],
        "weight": co.pair_values[kept, pair_counts.WEIGHT],
        "recent": co.pair_values[kept, pair_counts.RECENT],
    }


def increment(state: BehaviourCountState, now: float) -> tuple[dict, dict]:
    """Counts the events new since `state` and re-ranks the lists their pairs moved, and those
    of products back on sale (and of their partners, whose lists left them out)."""
    moved_rows = refresh_lines.moved_lines(state, settings.PRODSIM_BEHAVIOUR_WHY_DAYS, now)
    totals = {kind: list(values) for kind, values in state.baskets.items()}
    refresh_state.withdrawn_trending_drop()
    back = refresh_state.products_back_on_sale()
    if not moved_rows and not len(back):
        return {"events": 0}, totals
    touched = _counts_add(state, now, moved_rows, totals) if moved_rows else {}
    stats: dict = {"events": int(sum(row[5] for row in moved_rows))}
    if len(back):
        stats["back_on_sale"] = len(back)
    for kind in BASKET_KINDS:
        products = np.union1d(touched.get(kind, NONE), refresh_state.with_partners(kind, back))
        ids, pairs = refresh_state.ranked_pairs_of(kind, products, PARTNERS_PER_PRODUCT)
        scaled = pairs["weight"] * _factor(state, now)  # the raw scorer: score = decayed count
        partners = {**pairs, "scores": scaled, "support": scaled}
        stats[str(kind)] = associations_replace(kind, partners, ids, products=products)
    stats["trending"] = _trending_update(touched, back)
    return stats, totals


def _counts_add(state: BehaviourCountState, now: float, moved_rows: list, totals: dict) -> dict:
    """Adds what the moved lines change to the kept counts and to `totals` (per kind, in
    place); {kind: ids of the products whose counts moved}."""
    units = arrays_of(refresh_lines.unit_lines(state, moved_rows))
    baskets, trending = counts_change(
        units, arrays_of(moved_rows), reference=state.reference, before=state.counted_at, now=now
    )
    for kind, co in baskets.baskets.items():
        totals[kind] = (np.asarray(totals.get(kind, [0.0] * 3)) + co.totals).tolist()
    return {**refresh_state.counts_add(baskets), **refresh_state.counts_add(trending)}


def _factor(state: BehaviourCountState, now: float) -> float:
    """From weights at the reference time to weights now."""
    half_life = settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS
    if half_life is None:
        return 1.0
    return 0.5 ** ((now - state.reference) / (half_life * SECONDS_PER_DAY))


def _trending_update(touched: dict, back: np.ndarray) -> int:
    kinds = (TRENDING_PURCHASES, TRENDING_VIEWS)
    products = np.unique(np.concatenate([back, *(touched.get(kind, NONE) for kind in kinds)]))
    products = products.astype(np.int64)
    purchases = refresh_state.item_values(TRENDING_PURCHASES, products)
    views = refresh_state.item_values(TRENDING_VIEWS, products)
    return popularity_replace(products, purchases, views, products=products)
