"""The recommendations' read window timed side by side, for bench/_recommendations_serving.py:
the whole selector in-process (no HTTP, no cache) for the regular customers, whose histories
are longer than any window measured, from their newest `BASELINE_WINDOW` events and from the
served window (`SERVED_HISTORY_EVENTS`), interleaved per visitor so both see the same load."""

import statistics
import time

from _behaviour_history import visitor_id
from _report import markdown_table

BASELINE_WINDOW = 50  # the window served before the protocol's validation chose a longer one


def percentiles(values: list[float]) -> dict:
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(statistics.median(values), 2), "p99": round(cuts[98], 2)}


def window_costs(regulars: range, k: int) -> dict:
    from behaviour.ml.sequence.signals import SERVED_HISTORY_EVENTS
    from behaviour.selectors.recommendations import visitor_history
    from behaviour.selectors.recommendations.recommend import recommended_for_history
    from behaviour.visitors import visitor_hash
    from similarity.selectors import SimilarQuery

    if len(regulars) < 2:  # percentiles need two timings
        return {"skipped": "fewer than two regular customers"}
    windows = tuple(dict.fromkeys((BASELINE_WINDOW, SERVED_HISTORY_EVENTS)))
    times: dict[int, list[float]] = {window: [] for window in windows}
    read: dict[int, list[int]] = {window: [] for window in windows}
    for turn, number in enumerate(regulars):
        visitor = visitor_hash(visitor_id(number))
        for window in windows if turn % 2 else windows[::-1]:
            started = time.perf_counter()
            history = visitor_history(visitor=visitor, limit=window)
            recommended_for_history(history=history, query=SimilarQuery(k=k))
            times[window].append((time.perf_counter() - started) * 1000)
            read[window].append(len(history.events))
    return {
        "visitors": len(regulars),
        "served": SERVED_HISTORY_EVENTS,
        "windows": {
            str(window): {**percentiles(times[window]), "read": statistics.median(read[window])}
            for window in windows
        },
    }


def window_markdown(costs: dict) -> str:
    if "windows" not in costs:
        return ""
    windows = costs["windows"]
    baseline = windows[str(BASELINE_WINDOW)]
    rows = [
        [
            f"newest {window}" + (" (served)" if int(window) == costs["served"] else ""),
            t["read"],
            t["p50"],
            t["p99"],
            f"{t['p50'] / baseline['p50']:.2f} / {t['p99'] / baseline['p99']:.2f}",
        ]
        for window, t in windows.items()
    ]
    return (
        f"The read window side by side: the whole selector in-process (no HTTP, no cache) for "
        f"{costs['visitors']} regular customers, from each window in turn per visitor:\n\n"
        + markdown_table(
            ["events read", "median read", "p50 ms", "p99 ms", f"× newest {BASELINE_WINDOW}"], rows
        )
    )
