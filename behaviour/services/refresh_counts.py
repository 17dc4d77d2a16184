"""The counts of a set of event lines, by kind, for the refresh (behaviour.ml.pair_counts).

Bought together counts orders (purchase lines sharing an order id), also viewed counts visits
(a visitor's views and clicks until PRODSIM_SESSION_GAP_S pass idle), trending counts each
purchase and each view or click. Counts are taken at a reference time (the last full rebuild)
so that they add up across refreshes; `window_start` opens the "why" window.
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from behaviour.ml import pair_counts
from behaviour.ml.cooccurrence import SECONDS_PER_DAY

from ..models import Event, ItemAssociation
from .event_arrays import VIEW_KINDS, EventArrays

TRENDING_PURCHASES, TRENDING_VIEWS = "purchases", "views"  # ItemCount kinds besides the lists'
BASKET_KINDS = (ItemAssociation.Kind.BOUGHT_TOGETHER, ItemAssociation.Kind.ALSO_VIEWED)


@dataclass(frozen=True)
class Counts:
    """Counts over arrays.product_ids: per list kind PairCounts, per trending kind (P, 3)."""

    product_ids: np.ndarray
    baskets: dict[str, pair_counts.PairCounts]
    trending: dict[str, np.ndarray]


def window_start(now: float) -> float:
    return now - settings.PRODSIM_BEHAVIOUR_WHY_DAYS * SECONDS_PER_DAY


def _basket_lines(arrays: EventArrays, kind: str, lines: np.ndarray):
    """(basket keys, line indices) of the kind's baskets among `lines` (a bool mask)."""
    if kind == ItemAssociation.Kind.BOUGHT_TOGETHER:
        keys, at = arrays.order_baskets()
    else:
        keys, at = arrays.view_sessions(settings.PRODSIM_SESSION_GAP_S)
    kept = lines[at]
    return keys[kept], at[kept]


def basket_counts(arrays: EventArrays, lines: np.ndarray, *, reference: float, now: float):
    """{kind: PairCounts} of the baskets formed by `lines` (bool mask over arrays)."""
    n = len(arrays.product_ids)
    out = {}
    for kind in BASKET_KINDS:
        keys, at = _basket_lines(arrays, kind, lines)
        out[kind] = pair_counts.count(
            keys,
            arrays.products[at],
            arrays.times[at],
            n,
            reference=reference,
            half_life_days=settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS,
            window_start=window_start(now),
        )
    return out


def trending_counts(arrays: EventArrays, lines: np.ndarray, *, reference: float, now: float):
    """{trending kind: (P, 3)} weight, events, recent events of purchases and of views."""
    n = len(arrays.product_ids)
    kinds = {
        TRENDING_PURCHASES: arrays.kinds == Event.Kind.PURCHASE,
        TRENDING_VIEWS: np.isin(arrays.kinds, VIEW_KINDS),
    }
    return {
        name: pair_counts.event_counts(
            arrays.products[lines & mask],
            arrays.times[lines & mask],
            n,
            reference=reference,
            half_life_days=settings.PRODSIM_TRENDING_HALF_LIFE_DAYS,
            window_start=window_start(now),
        )
        for name, mask in kinds.items()
    }


def counts_all(arrays: EventArrays, *, reference: float, now: float) -> Counts:
    """Everything the lines of `arrays` count (the full rebuild)."""
    every = np.ones(len(arrays.products), dtype=bool)
    return Counts(
        arrays.product_ids,
        basket_counts(arrays, every, reference=reference, now=now),
        trending_counts(arrays, every, reference=reference, now=now),
    )


def counts_change(
    units: EventArrays, expiring: EventArrays, *, reference: float, before: float, now: float
) -> tuple[Counts, Counts]:
    """What moved between the refresh at `before` and this one at `now`.

    units: every line of the orders and visitors that gained a line or hold one leaving the why
    window, with `new` marking lines the last refresh did not count: their baskets now, minus
    the same baskets as the last refresh counted them. expiring: the lines leaving the window
    (`new` marked too), whose trending "recent" drops. Returns (basket change, trending change),
    each over its own arrays' product ids.
    """
    every = np.ones(len(units.products), dtype=bool)
    after = basket_counts(units, every, reference=reference, now=now)
    prior = basket_counts(units, ~units.new, reference=reference, now=before)
    baskets = {kind: pair_counts.difference(after[kind], prior[kind]) for kind in BASKET_KINDS}
    added = trending_counts(expiring, expiring.new, reference=reference, now=now)
    left = trending_counts(expiring, ~expiring.new, reference=reference, now=now)
    for kind, values in added.items():
        values[:, pair_counts.RECENT] -= left[kind][:, pair_counts.BASKETS]
    return Counts(units.product_ids, baskets, {}), Counts(expiring.product_ids, {}, added)
