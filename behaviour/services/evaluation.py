"""Offline evaluation of bought together on the shop's own orders, by a time split.

Learn from the orders before `test_from`, then for each later order and each product in it ask
for that product's list: HR@10 is the share of (product, other product of the order) pairs found
(the online-retail protocol, docs/BENCHMARKS.md). The served scorer is reported beside the
baselines every shop can compare with: most popular products and raw co-purchase counts.
"""

import datetime as dt

import numpy as np
from django.conf import settings

from behaviour.ml import cooccurrence, popularity, scorers
from behaviour.ml.evaluation import hit_rate_at_k

from .event_arrays import event_arrays
from .refresh import SCORER, SCORER_PARAMS

K = 10
# name → (scorer, its parameters, decayed?): the baselines are the protocol's, undecayed.
METHODS = {
    "popularity": None,
    "co-purchase counts": ("raw", {}, False),
    f"prodsim ({SCORER})": (SCORER, SCORER_PARAMS, True),
}


def bought_together_evaluate(
    *, test_from: dt.datetime, test_until: dt.datetime | None = None
) -> dict:
    """Train/test order counts, test pairs, cold share, and {"hr", "cold_hr"} per method.

    Cold pairs: those whose query product had no co-purchase before test_from (new products):
    every method falls back to popularity for them, the content path is measured in bench/."""
    arrays = event_arrays()
    keys, lines = arrays.order_baskets()
    times = arrays.times[lines]
    cut = test_from.timestamp()
    end = test_until.timestamp() if test_until else np.inf
    train, test = times < cut, (times >= cut) & (times < end)
    n = len(arrays.product_ids)
    items = arrays.products[lines]
    half_life = settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS
    fitted = {
        decayed: cooccurrence.fit(
            keys[train], items[train], times[train], n, cut, half_life if decayed else None
        )
        for decayed in (False, True)
    }
    counts = popularity.popularity(keys[train], items[train], times[train], n, cut)
    popular = popularity.ranking(counts)[: int((counts > 0).sum())]  # never bought: no evidence
    cold = np.ones(n, dtype=bool)
    cold[fitted[False].rows] = False
    results, rate = {}, None
    for name, method in METHODS.items():
        top = np.full((n, K), -1, dtype=np.int64)
        if method is not None:
            co = fitted[method[2]]
            scores = scorers.score(co, method[0], **method[1])
            top, _ = scorers.top_k(co.rows, co.cols, scores, n, K, tie_break=co.item_counts)
        rate = hit_rate_at_k(keys[test], items[test], popularity.fill(top, popular), K, cold=cold)
        results[name] = {"hr": _rounded(rate.rate), "cold_hr": _rounded(rate.cold_rate)}
    return {
        "test_from": test_from.isoformat(),
        "k": K,
        "train_orders": int(len(np.unique(keys[train]))),
        "test_orders": rate.baskets if rate else 0,
        "pairs": rate.pairs if rate else 0,
        "cold_share": _rounded(rate.cold_share) if rate else None,
        "methods": results,
    }


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)
