"""The bought-together method study on the shop's own orders, by two time splits.

Every variant of `behaviour.ml.study` learns from the orders before `validate_from` and is
measured on those up to `test_from` (validation), then learns from the orders before `test_from`
and is measured on the later ones (test). The choice is made on validation only: a variant must
beat the served scorer there by MIN_GAIN to replace it, so the test months are read once, as a
report, and a shop's later months are not judged by a choice fitted to noise. The ceilings say
how far any single list per product could go on each period.
"""

import datetime as dt

import numpy as np
from django.conf import settings

from behaviour.ml import cooccurrence, study
from behaviour.ml.study import Lines, Variant
from catalog.models import Product

from .event_arrays import event_arrays
from .refresh import SCORER

K = 10
# A replacement must win by more than the spread of near-equal methods: on online-retail the
# half-lives 30-180 days, the customer and title priors and partner availability all landed
# within -1 % and +1.4 % of the served scorer on validation (docs/BENCHMARKS.md), so 2 % is
# the smallest gain that says more than the split's noise.
MIN_GAIN = 0.02
CUSTOMER_PRIOR = 5.0  # pseudo-baskets; 1, 5 and 20 measured within 0.1 % of each other
TITLE_PRIOR = 2.0  # pseudo-baskets; 0.5, 2 and 5 likewise
AVAILABILITY_POWER = 0.5  # 1.0 lost on both splits: it overrides the counts


def served_name() -> str:
    half_life = settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS
    days = "no decay" if half_life is None else f"half-life {half_life:g} d"
    return f"served: {SCORER} counts, {days}"


def variants() -> dict[str, Variant]:
    """The study's rows: the protocol's baselines, the served scorer, and its candidates."""
    served = settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS
    rows = {
        "popularity": Variant(popularity_only=True),
        "co-purchase counts": Variant(),
        served_name(): Variant(half_life=served),
    }
    for days in (30, 60, 180):
        if days != served:
            rows[f"counts, half-life {days} d"] = Variant(half_life=days)
    rows[f"+ same customer's orders prior (m={CUSTOMER_PRIOR:g})"] = Variant(
        half_life=served, customers=CUSTOMER_PRIOR
    )
    rows[f"+ title neighbours prior (m={TITLE_PRIOR:g})"] = Variant(
        half_life=served, titles=TITLE_PRIOR
    )
    rows[f"+ title neighbours prior (m={TITLE_PRIOR:g}), neighbours sold before only"] = Variant(
        half_life=served, titles=TITLE_PRIOR, titles_sold_only=True
    )
    rows[f"× partner availability (g={AVAILABILITY_POWER:g})"] = Variant(
        half_life=served, availability=AVAILABILITY_POWER
    )
    return rows


def bought_together_study(
    *, validate_from: dt.datetime, test_from: dt.datetime, test_until: dt.datetime | None = None
) -> dict:
    """{"variants": {name: {"validation", "test", "test_cold"}}, "ceilings", "chosen", ...}."""
    arrays = event_arrays()
    keys, at = arrays.order_baskets()
    lines = Lines(keys, arrays.products[at], arrays.times[at], arrays.visitors[at])
    n = len(arrays.product_ids)
    titles = study.title_pairs(_titles(arrays.product_ids)) if n > 1 else None
    periods = {
        "validation": (validate_from.timestamp(), test_from.timestamp()),
        "test": (test_from.timestamp(), test_until.timestamp() if test_until else np.inf),
    }
    table = {name: {} for name in variants()}
    ceilings = {}
    for period, (cut, end) in periods.items():
        learn = lines.part(lines.times < cut)
        test = lines.part((lines.times >= cut) & (lines.times < end))
        cold = np.ones(n, dtype=bool)
        cold[cooccurrence.fit(learn.baskets, learn.items, learn.times, n, cut).rows] = False
        for name, variant in variants().items():
            pairs = study.variant_pairs(variant, learn, n, cut, titles)
            rate = study.hit_rate(pairs, learn, test, n, cut, K, cold)
            table[name][period] = _rounded(rate.rate)
            table[name][f"{period}_cold"] = _rounded(rate.cold_rate)
        ceilings[period] = {
            name: _rounded(rate.rate) for name, rate in study.ceilings(learn, test, n, K).items()
        }
    return {
        "validate_from": validate_from.isoformat(),
        "test_from": test_from.isoformat(),
        "k": K,
        "variants": table,
        "ceilings": ceilings,
        "served": served_name(),
        "chosen": chosen(table),
    }


def chosen(table: dict) -> str:
    """The best variant on validation if it beats the served one by MIN_GAIN, else the served."""
    served = served_name()
    scored = {name: row["validation"] for name, row in table.items() if row["validation"]}
    if not scored or not table[served]["validation"]:
        return served
    best = max(scored, key=lambda name: (scored[name], name == served))
    return best if scored[best] >= (1 + MIN_GAIN) * scored[served] else served


def _titles(product_ids: np.ndarray) -> list[str]:
    titles = dict(Product.objects.filter(pk__in=product_ids.tolist()).values_list("pk", "title"))
    return [titles.get(pid, "") or "" for pid in product_ids.tolist()]


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)
