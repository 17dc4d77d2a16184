"""How often the A/B test page's 95 % intervals hold the truth, by simulation.

Simulated shoppers in two arms, with the functions the experiment page uses
(`experiments.stats`, `experiments.design`): per cell, the share of replications whose CTR
interval holds the true CTR (coverage, 95 % nominal), whose difference interval holds the true
difference (the candidate's rate 1.2 × the control's), and whose difference interval excludes 0
when both arms are alike (false positives, 5 % nominal); each for the intervals as served (per
shopper, `ctr_interval`) and for the per-impression ones served before (`wilson_interval` on all
impressions), and among the replications the page gives a verdict on (at least
`MIN_EFFECTIVE_SHOPPERS` effective shoppers in each arm).

Shoppers: *independent* see one impression each; *browsing* see a geometric number (mean 2.5)
and each has their own click rate (beta, a + b = 2) around the CTR; *heavy* as browsing, but 5 %
of shoppers see 50-200 impressions (about three quarters of all impressions).

    .venv/bin/python bench/ab_statistics.py              # writes its BENCHMARKS section
    .venv/bin/python bench/ab_statistics.py --reps 200 --no-doc
"""

import argparse
import time

import numpy as np
from _report import (
    ensure_repo_on_path,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)

ensure_repo_on_path()

from experiments import stats  # noqa: E402

SECTION = "ab-statistics"
SCENARIOS = ("independent", "browsing", "heavy")
CTRS = (0.01, 0.05, 0.2)
SHOPPERS = (50, 500, 5000)
LIFT = 1.2  # the candidate's true rate ÷ the control's, for the difference's coverage


def shoppers_of(rng, scenario: str, ctr: float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(impressions, clicked impressions) per shopper of one arm."""
    if scenario == "independent":
        return np.ones(m, dtype=np.int64), (rng.random(m) < ctr).astype(np.int64)
    n = rng.geometric(0.4, m)
    if scenario == "heavy":
        n = np.where(rng.random(m) < 0.05, rng.integers(50, 201, m), n)
    rates = rng.beta(2 * ctr, 2 * (1 - ctr), m)
    return n, rng.binomial(n, rates)


def sums_of(n: np.ndarray, c: np.ndarray) -> stats.ShopperSums:
    n, c = n.astype(np.int64), c.astype(np.int64)
    totals = (n.sum(), c.sum(), (n * n).sum(), (c * c).sum(), (n * c).sum())
    return stats.ShopperSums(len(n), *(int(t) for t in totals))


def holds(interval, truth: float) -> bool:
    return interval is not None and interval.low <= truth <= interval.high


def excludes_zero(interval) -> bool:
    return interval is not None and (interval.low > 0 or interval.high < 0)


def cell(rng, scenario: str, ctr: float, m: int, reps: int) -> dict:
    counts = dict.fromkeys(
        ["arm", "arm_old", "diff", "diff_old", "null", "null_old", "read", "arm_read", "null_read"],
        0,
    )
    for _ in range(reps):
        control = sums_of(*shoppers_of(rng, scenario, ctr, m))
        better = sums_of(*shoppers_of(rng, scenario, ctr * LIFT, m))
        alike = sums_of(*shoppers_of(rng, scenario, ctr, m))
        old = (control.clicked, control.impressions)
        read = min(map(stats.effective_shoppers, (control, alike))) >= stats.MIN_EFFECTIVE_SHOPPERS
        arm_holds = holds(stats.ctr_interval(control), ctr)
        null_rejects = excludes_zero(stats.ctr_difference_interval(alike, control))
        counts["arm"] += arm_holds
        counts["arm_old"] += holds(stats.wilson_interval(*old), ctr)
        truth = ctr * LIFT - ctr
        counts["diff"] += holds(stats.ctr_difference_interval(better, control), truth)
        counts["diff_old"] += holds(
            stats.difference_interval(better.clicked, better.impressions, *old), truth
        )
        counts["null"] += null_rejects
        counts["null_old"] += excludes_zero(
            stats.difference_interval(alike.clicked, alike.impressions, *old)
        )
        counts["read"] += read
        counts["arm_read"] += read and arm_holds
        counts["null_read"] += read and null_rejects
    share = {key: value / reps for key, value in counts.items() if not key.endswith("_read")}
    for key in ("arm_read", "null_read"):
        share[key] = counts[key] / counts["read"] if counts["read"] else None
    return share


def run(reps: int, seed: int) -> dict:
    rng, started, cells = np.random.default_rng(seed), time.monotonic(), []
    for scenario in SCENARIOS:
        for ctr in CTRS:
            for m in SHOPPERS:
                cells.append({"scenario": scenario, "ctr": ctr, "shoppers": m})
                cells[-1] |= cell(rng, scenario, ctr, m, reps)
                log(f"{scenario} ctr {ctr} shoppers {m}: {cells[-1]}")
    return {
        "reps": reps,
        "seed": seed,
        "cells": cells,
        "seconds": round(time.monotonic() - started),
    }


def _share(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def report(figures: dict) -> str:
    header = [
        "scenario",
        "CTR",
        "shoppers per arm",
        "CTR coverage: served / before",
        "difference coverage: served / before",
        "false positives: served / before",
        "share with a verdict",
        "with a verdict: coverage / false positives",
    ]
    rows = [
        [
            c["scenario"],
            c["ctr"],
            c["shoppers"],
            f"{c['arm']:.3f} / {c['arm_old']:.3f}",
            f"{c['diff']:.3f} / {c['diff_old']:.3f}",
            f"{c['null']:.3f} / {c['null_old']:.3f}",
            f"{c['read']:.2f}",
            f"{_share(c['arm_read'])} / {_share(c['null_read'])}",
        ]
        for c in figures["cells"]
    ]
    return "\n\n".join(
        [
            f"{figures['reps']} replications a cell (seed {figures['seed']}), "
            f"{figures['seconds']} s. Nominal: coverage 0.95, false positives 0.05. A verdict is "
            f"read once each arm has {stats.MIN_EFFECTIVE_SHOPPERS} effective shoppers (Kish).",
            markdown_table(header, rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    machine = machine_info()
    figures = run(args.reps, args.seed)
    markdown = report(figures)
    print(markdown)
    print_json(SECTION, figures)
    if not args.no_doc:
        title = "## A/B test intervals: coverage by simulation (`bench/ab_statistics.py`)\n\n"
        write_section(SECTION, title + markdown, machine=machine)


if __name__ == "__main__":
    main()
