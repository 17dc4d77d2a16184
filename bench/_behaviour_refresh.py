"""The refresh in bench/behaviour_serving.py: `behaviour_refresh()` timed step by step, full
rebuilds then increments after a batch of new events, and its tables for the report."""

import time

from _behaviour_ingestion import BATCH, batch_events
from _behaviour_measure import StepClock
from _report import log, markdown_table, spread


# --- refresh ------------------------------------------------------------------------------------
def _timed_refresh(targets: dict, **kwargs) -> dict:
    """One `behaviour_refresh()` with the seconds of each step (StepClock over `targets`)."""
    from behaviour.services import refresh

    with StepClock(targets) as clock:
        started = time.perf_counter()
        row = refresh.behaviour_refresh(**kwargs)
        seconds = time.perf_counter() - started
    assert row is not None and row.state == "succeeded", row
    steps = {label: round(s, 2) for label, s in clock.seconds.items()}
    steps["rest (lock, state, refresh row, commit)"] = round(
        seconds - sum(clock.seconds.values()), 2
    )
    result = {"seconds": round(seconds, 2), "steps_s": steps, "stats": row.stats}
    log(f"  refresh: {result}")
    return result


def refresh_measure(repeats: int, pop, rng, visitors: int) -> dict:
    """Full rebuilds (forced) timed `repeats` times, then as many increments, each after one
    API batch of new events (recorded in-process), with the seconds of each step."""
    from behaviour.services import refresh_lines, refresh_state
    from behaviour.services import refresh_runs as runs
    from behaviour.services.ingest import events_record

    full_steps = {
        "read events": (runs, "event_arrays"),
        "count (NumPy)": (runs, "counts_all"),
        "write counts (COPY)": (refresh_state, "counts_replace"),
        "rank lists": (runs, "ranked_partners"),
        "write lists (COPY)": (runs, "associations_replace"),
        "trending": (runs, "popularity_replace"),
    }
    increment_steps = {
        "new and expiring events": (refresh_lines, "moved_lines"),
        "their orders' and visitors' lines": (refresh_lines, "unit_lines"),
        "count the change (NumPy)": (runs, "counts_change"),
        "add to the counts (upsert)": (refresh_state, "counts_add"),
        "rank the moved products' pairs (SQL)": (refresh_state, "ranked_pairs_of"),
        "write lists": (runs, "associations_replace"),
        "trending": (runs, "_trending_update"),
    }
    full = [_timed_refresh(full_steps, full=True) for _ in range(repeats)]
    increments = []
    for n in range(repeats):
        outcomes = events_record(items=batch_events(pop, rng, f"inc{n}", visitors))
        assert all(o.status == "accepted" for o in outcomes), outcomes[:3]
        increments.append(_timed_refresh(increment_steps))
        assert increments[-1]["stats"]["mode"] == "increment", increments[-1]["stats"]
    return {
        "runs": full,
        "seconds": spread([r["seconds"] for r in full]),
        "increments": increments,
        "increment_seconds": spread([r["seconds"] for r in increments]),
        "batch": BATCH,
    }


# --- report -------------------------------------------------------------------------------------
def _runs_table(title: str, runs: list[dict]) -> str:
    labels = list(runs[0]["steps_s"])
    header = [title, "total s", *labels]
    lines = [
        [i + 1, r["seconds"], *(r["steps_s"][label] for label in labels)]
        for i, r in enumerate(runs)
    ]
    return markdown_table(header, lines)


def refresh_table(refresh: dict) -> str:
    stats = refresh["runs"][0]["stats"]
    moved = refresh["increments"][0]["stats"]
    return (
        _runs_table("full rebuild", refresh["runs"])
        + f"\n\nLists written by a full rebuild: {stats.get('bought_together', 0):,} "
        f"bought-together rows, {stats.get('also_viewed', 0):,} also-viewed rows, "
        f"{stats.get('trending', 0):,} trending rows, from {stats['events']:,} events over "
        f"{stats['products']:,} products.\n\n"
        + _runs_table(f"increment after {refresh['batch']:,} new events", refresh["increments"])
        + f"\n\nLists rewritten by the first increment ({moved['events']:,} new events): "
        f"{moved.get('bought_together', 0):,} bought-together rows, "
        f"{moved.get('also_viewed', 0):,} also-viewed rows, {moved.get('trending', 0):,} "
        "trending rows."
    )
