"""Next-purchase signals without the sequence model, chosen on validation, then tested once.

The online-retail protocol of bench/sequence_quality.py (Recall@20 of the distinct products
each customer seen in both periods buys in the later period), on two splits of the same shape:

- validation, inside the learning period: learn from orders before 2011-05-01, ask for 2011-05/06;
- test (the protocol): learn from orders before 2011-07-01, ask for 2011-07/08.

On another file of the same kind the test period is its last two months and validation the two
before (bench/_online_retail.py).

The variant kept is measured once more from each customer's newest events only, as the
recommendations read them per request (`SERVED_HISTORY_EVENTS`), and with its weights unchanged
from read windows of other lengths (`WINDOWS`): the served window is the shortest that is best
on validation within `WINDOW_TIE`, since every event read costs every uncached request.

Every variant is measured on both; the hybrid variants' weights (`hybrid.tune_weights`) are
tuned on the validation split only and applied unchanged to the test split, and the variant kept
is the one best on validation. No model is trained, so this runs in a minute or two. The content
signal reads the titles' lexical sketches, the vectors prodsim serves for a shop without photos
(as `sequence_quality.py` does).

    .venv/bin/python bench/next_purchase_signals.py            # writes its BENCHMARKS section
    .venv/bin/python bench/next_purchase_signals.py --no-doc
"""

import argparse
import time
from dataclasses import replace

import _online_retail as online_retail
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

from sequence_quality import Period, Shop  # noqa: E402

from behaviour.ml.sequence import hybrid  # noqa: E402
from behaviour.ml.sequence.metrics import top_k  # noqa: E402
from behaviour.ml.sequence.peers import Peers  # noqa: E402
from behaviour.ml.sequence.signals import KIND_WEIGHTS, SERVED_HISTORY_EVENTS  # noqa: E402

SECTION = "next-purchase-signals"
VALID_MONTHS = 2  # the validation split asks for the two months before the test period
K = 20
WINDOWS = (50, 100, 200, 400)  # read windows measured beside the served one
WINDOW_TIE = 0.001  # Recall@20 differences this small are noise between neighbouring settings
HALF_LIFE_DAYS = 60  # the time-decayed repeats variant (TIFU-kNN style frequency decay)
UNWEIGHTED = ", repeats not weighted by what sells now"
FULL = "repeats + item-kNN + peers + content + popularity (tuned)"
# Hybrid variants: the signals each fuses (weights tuned on validation). Repeats are weighted by
# trending purchases (`signals.selling_factor`), as served, in every variant.
HYBRIDS = {
    "repeats + item-kNN (tuned)": ("repeat", "cooccurrence"),
    "repeats + peers (tuned)": ("repeat", "peers"),
    "repeats + item-kNN + peers (tuned)": ("repeat", "cooccurrence", "peers"),
    FULL: (
        "repeat",
        "cooccurrence",
        "peers",
        "content",
        "popularity",
    ),
}


class Split:
    """One period with every customer's signals (all of them; variants pick a subset)."""

    def __init__(self, shop: Shop, content: np.ndarray, cut: int, until: int) -> None:
        self.period = Period(shop, cut, until)
        self.shop, self.cut = shop, cut
        self.peers, self.content = Peers.fit(self.period.history), content
        self.whole = self.signals_of(self.period.histories)
        # What the recommendations read per request: each customer's newest events only.
        self.served = self.newest(SERVED_HISTORY_EVENTS)
        # As before repeats were weighted by what sells now, for the side-by-side rows.
        self.unweighted = self.signals_of(self.period.histories, selling=False)
        self.signals = self.whole

    def signals_of(
        self, histories: list[tuple[np.ndarray, np.ndarray]], selling: bool = True
    ) -> list[dict]:
        return [
            hybrid.visitor_signals(
                items=items,
                kinds=kinds,
                n_items=self.shop.n_items,
                neighbours=self.period.neighbours,
                content=self.content,
                popularity=self.period.popularity,
                peer_scores=self.peers.scores(items, kinds),
                selling=self.period.selling if selling else None,
            )
            for items, kinds in histories
        ]

    def newest(self, events: int) -> list[dict]:
        """Every customer's signals from their newest `events` events only."""
        return self.signals_of([(i[-events:], k[-events:]) for i, k in self.period.histories])

    def ranked(self, keys: list[np.ndarray]) -> np.ndarray:
        """(V, K) lists by one score per customer, popularity breaking ties."""
        fill = self.period.popularity / max(self.period.popularity.max(), 1e-12) * 1e-6
        return top_k(np.stack([key + fill for key in keys]), K)

    def decayed_repeats(self) -> list[np.ndarray]:
        history = self.period.history
        index = {int(v): i for i, v in enumerate(history.visitors)}
        out = []
        for customer in self.period.customers:
            start, length = history.starts[index[customer]], history.lengths[index[customer]]
            span = slice(start, start + length)
            age_days = (self.cut - history.times[span]) / 86_400
            weight = KIND_WEIGHTS[history.kinds[span]] * 0.5 ** (age_days / HALF_LIFE_DAYS)
            out.append(
                np.bincount(history.items[span], weights=weight, minlength=self.shop.n_items)
            )
        return out

    def only(self, names: tuple[str, ...]) -> list[dict]:
        return [{n: s[n] for n in names if n in s} for s in self.signals]

    def cases(self, names: tuple[str, ...]) -> list[tuple]:
        bought = np.zeros(self.shop.n_items, dtype=bool)  # repeats allowed: nothing ruled out
        return [
            (signals, bought, targets)
            for signals, targets in zip(self.only(names), self.period.targets, strict=True)
        ]

    def fused(self, names: tuple[str, ...], weights: hybrid.HybridWeights) -> np.ndarray:
        return self.ranked([hybrid.fuse(s, weights) for s in self.only(names)])


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    shop = Shop(args.file)
    months = online_retail.Split.of(shop.last_order, args)
    valid_from, test_from = months.validation_from(VALID_MONTHS), months.test_from
    content = shop.content("sketch")  # what the served content signal reads for this shop
    seconds = months.seconds
    splits = {
        "valid": Split(shop, content, seconds(valid_from), seconds(test_from)),
        "test": Split(shop, content, seconds(test_from), seconds(months.test_until)),
    }
    log(f"signals of both splits in {time.monotonic() - started:.0f} s")
    rows, weights = {}, {}

    def measure(name: str, lists_of) -> None:
        rows[name] = {split: s.period.measure(lists_of(s)) for split, s in splits.items()}
        log(f"{name}: " + ", ".join(f"{k} {v['recall']:.4f}" for k, v in rows[name].items()))

    measure("popular", lambda s: s.ranked([np.zeros(shop.n_items)] * len(s.signals)))
    measure("own repeats", lambda s: s.fused(("repeat",), hybrid.HybridWeights()))
    measure(f"own repeats, {HALF_LIFE_DAYS}-day half-life", lambda s: s.ranked(s.decayed_repeats()))
    measure("peers alone", lambda s: s.fused(("peers",), hybrid.HybridWeights(peers=1.0)))

    def measure_tuned(name: str, names: tuple[str, ...]) -> None:
        start = replace(hybrid.HybridWeights(), repeat=1.0, allow_repeats=True)
        tuned = hybrid.tune_weights(splits["valid"].cases(names), K, start=start)
        weights[name] = {n: tuned.of(n) for n in names}
        measure(name, lambda s: s.fused(names, tuned))

    for name, names in HYBRIDS.items():
        measure_tuned(name, names)
    # Side by side, not candidates (the served repeats are always weighted): the same rows with
    # repeats counted as before, unweighted by what sells now.
    for split in splits.values():
        split.signals = split.unweighted
    measure(f"own repeats{UNWEIGHTED}", lambda s: s.fused(("repeat",), hybrid.HybridWeights()))
    measure_tuned(f"{FULL}{UNWEIGHTED}", HYBRIDS[FULL])
    for split in splits.values():
        split.signals = split.whole
    chosen = max(
        (name for name in rows if not name.endswith(UNWEIGHTED)),
        key=lambda n: rows[n]["valid"]["recall"],
    )
    served = hybrid.HybridWeights(**weights[chosen]) if chosen in HYBRIDS else None
    if served is not None:
        served_name = f"{chosen}, served: newest {SERVED_HISTORY_EVENTS} events"
        weights[served_name] = weights[chosen]
        for split in splits.values():
            split.signals = split.served
        measure(served_name, lambda s: s.fused(HYBRIDS[chosen], served))
    windows = {} if served is None else read_windows(splits, HYBRIDS[chosen], served)
    return {
        "rows": rows,
        "weights": weights,
        "chosen": chosen,
        "windows": windows,
        "customers": {split: len(s.period.customers) for split, s in splits.items()},
        "cuts": {
            "valid": [str(valid_from), months.months(valid_from, test_from)],
            "test": [str(test_from), months.months(test_from, months.test_until)],
        },
        "seconds": round(time.monotonic() - started),
    }


def read_windows(splits: dict, names: tuple[str, ...], weights: hybrid.HybridWeights) -> dict:
    """The kept variant's Recall@20 per split from each customer's newest N events (N in
    WINDOWS and the whole history), its weights unchanged."""
    out = {}
    for events in (*WINDOWS, None):
        for split in splits.values():
            split.signals = split.whole if events is None else split.newest(events)
        label = "whole history" if events is None else str(events)
        out[label] = {
            n: s.period.measure(s.fused(names, weights))["recall"] for n, s in splits.items()
        }
        log(f"read window {label}: {out[label]}")
    for split in splits.values():
        split.signals = split.whole
    return out


def windows_report(windows: dict) -> str:
    rows = [
        [
            label + (" **(served)**" if label == str(SERVED_HISTORY_EVENTS) else ""),
            f"{r['valid']:.4f}",
            f"{r['test']:.4f}",
        ]
        for label, r in windows.items()
    ]
    best = max(r["valid"] for r in windows.values())
    shortest = next(label for label, r in windows.items() if r["valid"] >= best - WINDOW_TIE)
    return (
        "The kept variant, its weights unchanged, from each customer's newest N events "
        "(the recommendations' read window, `SERVED_HISTORY_EVENTS`):\n\n"
        + markdown_table(["newest events read", "valid Recall@20", "test Recall@20"], rows)
        + f"\n\nShortest window within {WINDOW_TIE} of the best on validation: **{shortest}**."
    )


def report(figures: dict) -> str:
    rows, chosen = figures["rows"], figures["chosen"]
    valid, test = figures["cuts"]["valid"], figures["cuts"]["test"]
    table = [
        [
            name + (" **(chosen)**" if name == chosen else ""),
            f"{r['valid']['recall']:.4f}",
            f"{r['test']['recall']:.4f}",
            f"{r['test']['ndcg']:.4f}",
            f"{r['test']['hr10']:.4f}",
            ", ".join(f"{n} {w:g}" for n, w in figures["weights"].get(name, {}).items()),
        ]
        for name, r in rows.items()
    ]
    header = [
        "variant",
        "valid Recall@20",
        "test Recall@20",
        "test NDCG@20",
        "test HR@10",
        "weights",
    ]
    own = rows["own repeats"]["test"]["recall"]
    best = rows[chosen]["test"]["recall"]
    return "\n\n".join(
        [
            f"Validation: orders before {valid[0]} → {valid[1]} ({figures['customers']['valid']} "
            f"customers); test (the protocol): before {test[0]} → {test[1]} "
            f"({figures['customers']['test']} customers). Weights tuned on validation only; "
            f"{figures['seconds']} s in all.",
            markdown_table(header, table),
            f"Kept (best on validation): **{chosen}**, test Recall@20 {best:.4f} = "
            f"{best / own:.3f} × own repeats ({own:.4f}), same run.",
            *([windows_report(figures["windows"])] if figures.get("windows") else []),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    online_retail.add_arguments(parser)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    args.file = online_retail.data_file(args.data)
    if args.file is None:
        log(f"online-retail not found at {args.data}; skipped (see /work/shared/data/README.md)")
        return
    machine = machine_info()
    figures = run(args)
    markdown = report(figures)
    print(markdown)
    print_json(SECTION, figures)
    if not args.no_doc:
        title = "## Next-purchase signals: chosen on validation, tested once (online-retail)\n\n"
        write_section(SECTION, title + markdown, machine=machine)


if __name__ == "__main__":
    main()
