"""Behaviour serving: event ingestion through the API, freshness, refresh time, list latency.

One run measures, against the issue's targets, on a synthetic catalogue and shopper history
written with COPY (products as similar_latency.py writes them; orders of 1–8 lines and view
sessions with Zipf-like popularity, co-purchases mostly from the first item's category; one
active version of clustered vectors with its HNSW index, which the "complements of similar
products" tier searches for products without lists of their own):

  refresh    `behaviour_refresh()` at the profile's scale, repeated, and where its time goes
             (reading the events, counting and ranking pairs, writing the lists, trending)
  lists      `GET /api/v1/products/<sku>/bought-together/?k=10` uncached (cache cleared, a new
             SKU per request): a sequential Python client (p50/p99, by how the answer was
             filled) and wrk (1 connection; 4 for the peak); also viewed and trending beside it
  recommend  `GET /api/v1/visitors/<id>/recommendations/?k=10` uncached for returning visitors
             and visitors without events, with a sequence model version trained on the history
             first (bench/_recommendations_serving.py; not in the smoke profile)
  freshness  a batch holding an order of two never-bought products, posted at moments spread
             over the cycle of a simulated beat (the refresh task every
             PRODSIM_BEHAVIOUR_REFRESH_S seconds, in a thread of this process); seconds from
             the post until the API lists the pair
  ingestion  `POST /api/v1/events/` batches of 1,000 events from 1, 2 and 4 concurrent clients
             (threads of this process, bodies built beforehand): accepted events/s, p50/p99 per
             batch, CPU per batch of the web workers and of PostgreSQL; then the first phase's
             batches resent (all duplicates); and where one batch's time goes, in-process

gunicorn serves with 2 sync workers on loopback, as the Procfile runs it. The server, the
database, the load generators and other sessions' tests share the machine's cores: the load
averages are recorded at the start, per phase and at the end.

Works in its own database (`prodsim_bench_behaviour` on the embedded server, dropped at the end
unless --keep) and its own Valkey database (11, flushed), so development data is never touched.

    .venv/bin/python bench/behaviour_serving.py           # quick: 10k products, 100k events, ~4 min
    .venv/bin/python bench/behaviour_serving.py --full    # 100k products, 1M events (issue scale)
    .venv/bin/python bench/behaviour_serving.py --smoke   # seconds: the harness on tiny inputs
    .venv/bin/python bench/behaviour_serving.py --full --lists-only   # the lists only, and
        # where an uncached request's time goes (_lists_serving.py): section behaviour-lists

Run directly, the quick and smoke profiles write the `behaviour-serving-quick` / `-smoke`
sections and --full the plain `behaviour-serving` one (run_all.py sets the same).

The phases live in bench/_behaviour_*.py (history, ingestion, refresh, list latency, freshness,
and the instruments they share); this script parses the arguments, runs them and reports.
"""

import argparse
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _lists_serving as lists_serving
import _recommendations_serving as recommendations
import _report
import numpy as np
import similar_latency as latency
from _behaviour_freshness import POLL_S, freshness_measure, freshness_table
from _behaviour_history import (
    EVENTS_PER_VISITOR,
    LEAVES,
    MAX_SESSION,
    SAME_CATEGORY,
    ZIPF_S,
    catalogue_build,
    regular_numbers,
    regulars_text,
)
from _behaviour_ingestion import BATCH, ingest_breakdown, ingestion_measure, ingestion_table
from _behaviour_list_latency import K, get_timed, lists_measure, lists_table, sequential
from _behaviour_measure import CpuMeter, load_avg
from _behaviour_refresh import refresh_measure, refresh_table
from _report import (
    fmt_spread,
    log,
    machine_info,
    markdown_table,
    print_json,
    section_name,
    write_section,
)

SECTION = "behaviour-serving"
LISTS_SECTION = "behaviour-lists"
DATABASE_NAME = "prodsim_bench_behaviour"
CACHE_DB = 11  # similar_latency.py 9, serving.py 10; development 0, tests 1
PROFILES = {
    "smoke": {
        "products": 1_000,
        "events": 5_000,
        "batches": 2,
        "clients": "1,2",
        "requests": 40,
        "other_requests": 10,
        "duration": 1,
        "refreshes": 1,
        "trials": 1,
        "beat_interval": 1.0,
    },
    "quick": {
        "products": 10_000,
        "events": 100_000,
        "batches": 60,
        "clients": "1,2,4",
        "requests": 1000,
        "other_requests": 200,
        "duration": 10,
        "refreshes": 3,
        "trials": 3,
        "beat_interval": None,  # settings.PRODSIM_BEHAVIOUR_REFRESH_S, what beat runs
    },
    "full": {
        "products": 100_000,
        "events": 1_000_000,
        "batches": 150,
        "clients": "1,2,4",
        "requests": 2000,
        "other_requests": 300,
        "duration": 15,
        "refreshes": 3,
        "trials": 3,
        "beat_interval": None,
    },
}
TARGETS = {"ingest_events_per_s": 5000, "visible_s": 60.0, "list_p99_ms": 30.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="100k products, 1M events")
    group.add_argument("--smoke", action="store_true", help="tiny inputs (seconds)")
    parser.add_argument("--products", type=int)
    parser.add_argument("--events", type=int, help="events of the history written with COPY")
    parser.add_argument("--batches", type=int, help="batches of 1,000 per ingestion phase")
    parser.add_argument("--clients", help="concurrent posting clients per phase, e.g. 1,2,4")
    parser.add_argument("--requests", type=int, help="uncached bought-together requests")
    parser.add_argument("--other-requests", type=int, help="also viewed / trending requests")
    parser.add_argument("--duration", type=int, help="seconds per wrk run")
    parser.add_argument("--refreshes", type=int, help="timed refreshes at scale")
    parser.add_argument("--trials", type=int, help="freshness trials")
    parser.add_argument("--beat-interval", type=float, help="seconds (default: the setting)")
    parser.add_argument("--no-vectors", action="store_true", help="no embeddings: no complements")
    parser.add_argument(
        "--no-sequence", action="store_true", help="recommendations without a sequence model"
    )
    parser.add_argument("--workers", type=int, default=latency.WEB_WORKERS)
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database and its files"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    parser.add_argument(
        "--lists-only",
        action="store_true",
        help="only the uncached lists and where their time goes (_lists_serving.py; own section)",
    )
    args = parser.parse_args(argv)
    args.profile = "full" if args.full else "smoke" if args.smoke else "quick"
    for name, value in PROFILES[args.profile].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.clients = [int(c) for c in str(args.clients).split(",")]
    return args


# --- run ----------------------------------------------------------------------------------------
def run(args, work_dir: Path, machine: dict, command: str) -> dict:
    from partners.models import PartnerApiKey

    rng = np.random.default_rng(args.seed)
    figures = {"profile": args.profile, "command": command, "machine": machine}
    figures["load_avg_start"] = load_avg()
    pop, figures["setup"] = catalogue_build(args, rng)
    figures["products"] = args.products
    log(f"refresh ×{args.refreshes}")
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    regulars = regular_numbers(visitors)
    figures["refresh"] = refresh_measure(args.refreshes, pop, rng, visitors)
    log("sequence model version (recommendations)")
    # The smoke profile checks the harness in seconds: no TensorFlow import and training there.
    figures["sequence_training"] = recommendations.sequence_train(
        not args.no_sequence and args.profile != "smoke"
    )
    _, read_key = PartnerApiKey.objects.create_key(name="bench-behaviour-read", scope="read")
    _, write_key = PartnerApiKey.objects.create_key(name="bench-behaviour-write", scope="write")
    keys = {"read": read_key, "write": write_key}
    with latency.Server(work_dir, args.workers) as server:
        figures["server_command"] = shlex.join(["python", *server.command[1:]])
        log("lists, uncached")
        figures["lists"] = lists_measure(args, server, read_key, rng, work_dir)
        log("recommendations, uncached")
        figures["recommendations"] = recommendations.recommendations_measure(
            sequential, get_timed, server.port, write_key, args, rng, visitors, regulars
        )
        log(f"freshness ×{args.trials}")
        figures["freshness"] = freshness_measure(args, server, keys, pop, rng)
        log(f"ingestion: {args.batches} batches per phase, clients {args.clients}")
        figures["ingestion"] = ingestion_measure(args, server, write_key, pop, rng)
    figures["ingestion"]["in_process"] = ingest_breakdown(pop, rng, visitors)
    figures["load_avg_end"] = load_avg()
    return figures


def run_lists(args, work_dir: Path, machine: dict, command: str) -> dict:
    """--lists-only: the data, one full refresh, then the uncached lists with the CPU each
    request costs, and in this process where a request's time goes (_lists_serving.py)."""
    from behaviour.services.refresh import behaviour_refresh
    from partners.models import PartnerApiKey

    rng = np.random.default_rng(args.seed)
    figures = {"command": command, "machine": machine, "load_avg_start": load_avg()}
    _, figures["setup"] = catalogue_build(args, rng)
    figures["products"], figures["events"] = args.products, figures["setup"]["history"]["events"]
    behaviour_refresh(full=True)
    _, read_key = PartnerApiKey.objects.create_key(name="bench-lists-read", scope="read")
    with latency.Server(work_dir, args.workers) as server:
        log("lists, uncached, with the CPU of the workers and their backends")
        with CpuMeter(server, args.database) as meter:
            figures["lists"] = lists_measure(args, server, read_key, rng, work_dir)
        requests = sum(figures["lists"][name]["n"] for name in ("bought_together", "also_viewed"))
        requests += 20 + figures["lists"]["trending"]["n"]  # the warm-up requests too
        wrk_requests = sum(run["requests"] for run in figures["lists"].get("wrk", []))
        figures["cpu_per_request"] = lists_serving.cpu_per_request(
            meter.result, requests + wrk_requests
        )
    ids = rng.permutation(np.arange(1, args.products + 1))[: args.other_requests]
    skus = [latency.sku(int(p)) for p in ids]
    log("in-process breakdown and the tier shapes side by side")
    figures["breakdown"] = lists_serving.breakdown(skus)
    figures["tiers"] = lists_serving.tiers_side_by_side(skus)
    figures["load_avg_end"] = load_avg()
    return figures


def publish_lists(figures: dict, args, machine: dict) -> None:
    markdown = lists_serving.section_markdown(figures, lists_table(figures["lists"]))
    print(markdown)
    print_json(LISTS_SECTION, figures)
    if not args.no_doc:
        path = write_section(LISTS_SECTION, markdown, machine=machine)
        log(f"wrote section {section_name(LISTS_SECTION)!r} of {path}")


# --- report -------------------------------------------------------------------------------------
def row(figure: str, measured, target: str = "report", ok: bool | None = None, ref: str = ""):
    verdict = "–" if ok is None else ("**met**" if ok else "**missed**")
    return [figure, measured, target, verdict, ref]


def summary_rows(f: dict) -> list[list]:
    ingestion, fresh, lists = f["ingestion"], f["freshness"], f["lists"]
    best = max(ingestion["rows"], key=lambda r: r["accepted_per_s"])
    resent = ingestion["resent"]
    refresh = f["refresh"]
    # What beat runs is an increment (a full rebuild runs when asked and once a day). A post just
    # after a refresh read the events waits for that refresh to end, for the next tick after it
    # (ticks meanwhile are dropped) and for a whole refresh: interval + refresh while a refresh
    # is shorter than the interval.
    interval, slowest = fresh["interval_s"], refresh["increment_seconds"]["max"]
    bound = math.ceil(slowest / interval) * interval + slowest
    visible = max(t["visible_s"] for t in fresh["trials"])
    bought = lists["bought_together"]
    rows = [
        row(
            f"ingestion, accepted events/s (best: {best['clients']} clients)",
            f"{best['accepted_per_s']:,}",
            f"≥ {TARGETS['ingest_events_per_s']:,}",
            best["accepted_per_s"] >= TARGETS["ingest_events_per_s"],
            "by clients: "
            + ", ".join(f"{r['clients']}: {r['accepted_per_s']:,}" for r in ingestion["rows"])
            + f"; batch p50 / p99 {best['p50_ms']:.0f} / {best['p99_ms']:.0f} ms",
        ),
        row(
            f"resent batches (all duplicates), events/s ({resent['clients']} clients)",
            f"{resent['duplicates_per_s']:,}",
            ref=f"batch p50 / p99 {resent['p50_ms']:.0f} / {resent['p99_ms']:.0f} ms; "
            f"{resent['duplicates']:,} duplicates, {resent['accepted']} accepted",
        ),
        row(
            f"full rebuild at scale ({refresh['runs'][0]['stats']['events']:,} events), s",
            fmt_spread(refresh["seconds"], 2),
            ref=f"{refresh['seconds']['n']} runs, median (min–max); a job: asked, daily",
        ),
        row(
            f"incremental refresh after a batch of {refresh['batch']:,} new events, s",
            fmt_spread(refresh["increment_seconds"], 2),
            ref=f"{refresh['increment_seconds']['n']} runs, median (min–max); what each beat "
            f"tick runs; {fmt_spread(refresh['seconds'], 1)} s for the full rebuild",
        ),
        row(
            "visible-within bound = beat interval + slowest incremental refresh",
            f"{bound:.1f} s",
            f"≤ {TARGETS['visible_s']:.0f} s",
            bound <= TARGETS["visible_s"],
            f"{interval:g} s + {slowest:.2f} s"
            if slowest <= interval
            else f"refresh longer than the {interval:g} s interval: "
            f"⌈{slowest:.1f} / {interval:g}⌉ × {interval:g} s + {slowest:.1f} s",
        ),
        row(
            f"post → pair listed, measured (worst of {len(fresh['trials'])})",
            f"{visible:.1f} s",
            f"≤ {TARGETS['visible_s']:.0f} s",
            visible <= TARGETS["visible_s"],
            "posted across the beat cycle (one trial per slice); each: "
            + ", ".join(f"{t['visible_s']:.1f} s" for t in fresh["trials"]),
        ),
        row(
            f"bought together uncached p50 / p99, sequential ({bought['n']} distinct SKUs)",
            f"{bought['p50_ms']:.1f} / {bought['p99_ms']:.1f} ms",
            f"p99 ≤ {TARGETS['list_p99_ms']:.0f} ms",
            bought["p99_ms"] <= TARGETS["list_p99_ms"],
            f"view (Server-Timing) p50 / p99 {bought['server_view']['p50_ms']:.1f} / "
            f"{bought['server_view']['p99_ms']:.1f} ms; cache hits "
            f"{bought['counts'].get('cache hits', 0)}, non-200 "
            f"{bought['counts'].get('non-200', 0)}",
        ),
    ]
    for run in lists.get("wrk", []):
        one = run["connections"] == 1
        rows.append(
            row(
                f"bought together uncached p50 / p99, wrk {run['connections']} connection"
                + ("" if one else "s (peak: requests queue for the 2 workers)"),
                f"{run['p50_ms']:.1f} / {run['p99_ms']:.1f} ms",
                f"p99 ≤ {TARGETS['list_p99_ms']:.0f} ms" if one else "report",
                run["p99_ms"] <= TARGETS["list_p99_ms"] if one else None,
                f"{run['requests_per_s']:.0f} req/s; cache hits {run['cache_hits']} of "
                f"{run['requests']}; non-200 {run['errors']}",
            )
        )
    for name, label in (("also_viewed", "also viewed"), ("trending", "trending")):
        lat = lists[name]
        rows.append(
            row(
                f"{label} uncached p50 / p99, sequential ({lat['n']} requests)",
                f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms",
                ref=f"view p50 / p99 {lat['server_view']['p50_ms']:.1f} / "
                f"{lat['server_view']['p99_ms']:.1f} ms",
            )
        )
    rows += recommendations.summary_rows(row, f)
    return rows


def section_markdown(f: dict) -> str:
    setup, history_ = f["setup"], f["setup"]["history"]
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in history_["by_kind"].items())
    index = setup.get("index")
    vectors = (
        f"one active version of {latency.DIM}-d clustered vectors, HNSW index built in "
        f"{index['seconds']} s (the complements tier searches it)"
        if index
        else "no vectors (--no-vectors: the complements tier finds nothing)"
    )
    wrk = f["lists"].get("wrk")
    wrk_text = (
        f"wrk (`{wrk[0]['command']}`, a new SKU per request)" if wrk else "no wrk (not installed)"
    )
    return f"""### Behaviour serving: ingestion, freshness, refresh, list latency

Command: `{f["command"]}`. Load average (1/5/15 min) at the start
{" / ".join(map(str, f["load_avg_start"]))}, at the end {" / ".join(map(str, f["load_avg_end"]))}:
on these 2 cores a load above 2 means the figures include waiting for a core.

Data: {f["products"]:,} products (COPY, {LEAVES} leaf categories), {vectors}; a history of
{history_["events"]:,} events over {history_["days"]} days written with COPY ({kinds}):
{history_["orders"]:,} orders of 1–8 lines (mean {history_["mean_basket"]}), view sessions of
1–{MAX_SESSION} views, Zipf popularity (s = {ZIPF_S}) with later lines of an order / session from
the first one's category ({SAME_CATEGORY["purchase"]:.0%} / {SAME_CATEGORY["view"]:.0%});
{history_["products_bought"]:,} products bought at least once, {history_["visitors"]:,} visitors
({regulars_text(history_)}).
Setup: catalogue {setup["catalogue_s"]} s, history {setup["history_s"]} s.
Served by `{f["server_command"]}` (2 sync workers, as the Procfile), `PRODSIM_API_RATE=
{latency.API_RATE}`. Clients: Python threads of the bench process (a new connection per request,
bodies built beforehand; their CPU is in the tables) and {wrk_text}.

{markdown_table(["figure", "measured", "target", "met", "reference (same run)"], summary_rows(f))}

**Ingestion**: `POST /api/v1/events/`, batches of {BATCH:,} new events of the last day
(~{f["ingestion"]["body_kb"]} KB each; every event accepted, none rejected expected), the resend
phase posts the first phase's batches again. CPU per batch: the gunicorn workers (Django, DRF,
checks) and the PostgreSQL backends they hold (a lower bound: a backend closed mid-phase is
missed); a batch's wall time beyond them is waiting (the commit's WAL flush, loopback, cores
held by other load). The second table runs `events_record` in this process on new batches: CPU
is this process's (the store step's SQL runs in PostgreSQL, outside it); wall time above CPU is
waiting on PostgreSQL or for a core.

{ingestion_table(f["ingestion"])}

**Refresh** (`behaviour_refresh()` in this process, at the data above): full rebuilds
(`full=True`: recount every event, rewrite the kept counts and every list), then increments, each
after one batch of {BATCH:,} new events of the last day recorded by `events_record` (returning
visitors, new orders): recount only the orders and visitors those events touch and re-rank the
lists of the products whose pairs moved.

{refresh_table(f["refresh"])}

**Lists**, uncached: the cache is cleared first and each request asks for another SKU (trending:
cleared before every request); a new connection per request. *own* = all {K} items from the
product's own list; *partly own* / *none own* = filled by complements of similar products,
trending and the category's newest.

{lists_table(f["lists"])}

{recommendations.section_markdown(f)}

**Freshness**: beat simulated in a thread of this process (the `behaviour_refresh_task` body every
{f["freshness"]["interval_s"]:g} s, a missed tick dropped as `expires` drops it); a batch holding
an order of two products never bought together (no list of their own) is posted at a random
moment of trial n's slice of the cycle (the n-th of {len(f["freshness"]["trials"])} equal slices,
so the trials span from just after a tick to just before one), then the first product's
bought-together answer is polled every {POLL_S} s through the cache, until the second shows in
the `bought_together` tier.

{freshness_table(f["freshness"])}"""


def publish(figures: dict, args, machine: dict) -> None:
    markdown = section_markdown(figures)
    print(markdown)
    print_json(SECTION, figures)
    if not args.no_doc:
        path = write_section(SECTION, markdown, machine=machine)
        log(f"wrote section {section_name(SECTION)!r} of {path}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not os.environ.get("PRODSIM_BENCH_PROFILE"):
        # Run directly: the quick and smoke profiles keep to their own sections, as under
        # run_all.py, so only a --full run writes the plain section.
        _report.PROFILE = args.profile
    machine = machine_info()
    log(f"machine: {machine}")
    command = shlex.join([".venv/bin/python", "bench/behaviour_serving.py", *sys.argv[1:]])
    work_dir = Path(tempfile.mkdtemp(prefix="bench-behaviour-"))
    started = time.monotonic()
    latency.CACHE_DB = CACHE_DB  # django_setup points the cache at this Valkey database
    try:
        latency.django_setup(args.database, work_dir)
        figures = (run_lists if args.lists_only else run)(args, work_dir, machine, command)
    finally:
        if args.keep:  # the database's model files and media stay beside it
            log(f"kept: database {args.database}, files under {work_dir}")
        else:
            if "django" in sys.modules:
                latency.drop_database(args.database)
            shutil.rmtree(work_dir, ignore_errors=True)
    figures["seconds"] = round(time.monotonic() - started)
    if args.lists_only:
        publish_lists(figures, args, machine)
    else:
        publish(figures, args, machine)
    log(f"done in {figures['seconds']} s")
    return figures


if __name__ == "__main__":
    main()
