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
"""

import argparse
import datetime as dt
import http.client
import json
import math
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import _lists_serving as lists_serving
import _recommendations_serving as recommendations
import _report
import numpy as np
import similar_latency as latency
from _report import (
    fmt_spread,
    log,
    machine_info,
    markdown_table,
    print_json,
    section_name,
    spread,
    write_section,
)

SECTION = "behaviour-serving"
LISTS_SECTION = "behaviour-lists"
DATABASE_NAME = "prodsim_bench_behaviour"
CACHE_DB = 11  # similar_latency.py 9, serving.py 10; development 0, tests 1
K = 10
BATCH = 1000  # events per POST: the API's maximum (behaviour.services.ingest.MAX_BATCH)
LEAVES = latency.DEPARTMENTS * latency.KINDS  # product id i sits in leaf category i % LEAVES
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

# The synthetic history. Shares of event kinds (views take the rest):
KIND_SHARES = {"purchase": 0.40, "add_to_cart": 0.07, "click": 0.03}
KINDS = ("view", "add_to_cart", "purchase", "click")  # codes 0..3 in the arrays
BASKET_SIZES = np.arange(1, 9)
# Lines per order: mostly one to three, rarely eight (mean ≈ 2.8, an online shop's basket).
BASKET_WEIGHTS = np.array([30, 22, 15, 11, 8, 6, 4.5, 3.5]) / 100
SESSION_P = 0.3  # view-session length ~ geometric(0.3), capped at 10: mean ≈ 3 views
MAX_SESSION = 10
ZIPF_S = 1.0  # popularity ∝ 1 / rank^s, over all products and within each category
SAME_CATEGORY = {"purchase": 0.7, "view": 0.6}  # later lines from the first line's category
HISTORY_DAYS = 120  # spans the 90-day "why" window, under the 400-day retention
MARGIN_S = 1800  # sessions end before now: an event in the future is rejected
EVENTS_PER_VISITOR = 10
DAY_S = 86_400.0
OFFSET = dt.timezone(dt.timedelta(hours=1))  # API events carry a UTC offset, as partners send
POLL_S = 0.1  # freshness: the bought-together answer is polled this often
COPY_CHUNK = 100_000
WRK_LUA = """
threads = {}
counter = 0
hits = 0
errors = 0
local n, stride, offset = %(n)d, %(stride)d, %(offset)d
local auth = "%(auth)s"

function setup(thread) table.insert(threads, thread) end

function request()
  counter = counter + 1
  local product = (offset + counter * stride) %% n + 1
  local path = string.format("/api/v1/products/BL-%%07d/%(list)s/?k=%(k)d", product)
  return wrk.format("GET", path, {["Authorization"] = auth})
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
  if headers["X-Cache"] == "hit" then hits = hits + 1 end
end

function done(summary, latency, requests)
  local h, e = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hits"); e = e + t:get("errors") end
  io.write(string.format("BENCH requests=%%d hits=%%d errors=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, h, e, latency:percentile(50), latency:percentile(99)))
end
"""


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


# --- the synthetic history ----------------------------------------------------------------------
class Popularity:
    """Zipf-like draws of product ids (1..n): over all products, or within a product's category
    (the category's members ranked by the same global popularity)."""

    def __init__(self, products: int, rng: np.random.Generator):
        self.by_rank = rng.permutation(products) + 1  # product ids, most popular first
        self.cdf = self._cdf(products)
        categories = self.by_rank % LEAVES
        self.members = self.by_rank[np.argsort(categories, kind="stable")]
        counts = np.bincount(categories, minlength=LEAVES)
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.category_cdf = self._cdf(int(counts.min()))

    @staticmethod
    def _cdf(size: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, size + 1) ** ZIPF_S
        return np.cumsum(weights) / weights.sum()

    def draw(self, rng, count: int) -> np.ndarray:
        ranks = np.searchsorted(self.cdf, rng.random(count))
        return self.by_rank[np.minimum(ranks, len(self.by_rank) - 1)]

    def near(self, rng, product_ids: np.ndarray) -> np.ndarray:
        """A product of the same category as each of product_ids."""
        ranks = np.minimum(
            np.searchsorted(self.category_cdf, rng.random(len(product_ids))),
            len(self.category_cdf) - 1,
        )
        return self.members[self.offsets[product_ids % LEAVES] + ranks]


def _grouped(rng, lines: int, sizes_of) -> tuple[np.ndarray, np.ndarray, int]:
    """(group of each line, position in its group, groups) for about `lines` lines."""
    sizes = sizes_of(max(1, lines))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), lines) + 1]
    group = np.repeat(np.arange(len(sizes)), sizes)[:lines]
    starts = np.cumsum(sizes) - sizes
    return group, np.arange(len(group)) - starts[group], len(sizes)


def _related(pop, rng, group, position, groups, same_share) -> np.ndarray:
    """First line of each group drawn globally; later ones often from its category."""
    first = pop.draw(rng, groups)
    products = pop.draw(rng, len(group))
    near = (position > 0) & (rng.random(len(group)) < same_share)
    products[near] = pop.near(rng, first[group[near]])
    products[position == 0] = first[group[position == 0]]
    return products


def _part(kind: str, products, visitors, times, orders=None) -> dict:
    count = len(products)
    return {
        "kind": np.full(count, KINDS.index(kind), dtype=np.int8),
        "product": products.astype(np.int64),
        "order": np.full(count, -1, dtype=np.int64) if orders is None else orders,
        "visitor": visitors,
        "time": times,
    }


def history(pop, rng, events: int, visitors: int, now: float, days: float) -> dict:
    """About `events` events as parallel arrays: kind code, product id, order (-1: none),
    visitor number, time (Unix s), quantity and unit price in cents (purchases)."""
    lines = {kind: round(events * share) for kind, share in KIND_SHARES.items()}
    lines["view"] = events - sum(lines.values())
    parts = []
    # Orders: basket sizes 1–8, repeated products of an order counted once (as the refresh does).
    group, position, orders = _grouped(
        rng, lines["purchase"], lambda n: rng.choice(BASKET_SIZES, n, p=BASKET_WEIGHTS)
    )
    products = _related(pop, rng, group, position, orders, SAME_CATEGORY["purchase"])
    _, keep = np.unique(group * (len(pop.by_rank) + 1) + products, return_index=True)
    group, products = group[np.sort(keep)], products[np.sort(keep)]
    order_times = now - MARGIN_S - rng.random(orders) * days * DAY_S
    order_visitors = rng.integers(0, visitors, orders)
    parts.append(
        _part("purchase", products, order_visitors[group], order_times[group], orders=group)
    )
    # View sessions: a visitor's views a minute or two apart, often within one category.
    group, position, sessions = _grouped(
        rng, lines["view"], lambda n: np.minimum(rng.geometric(SESSION_P, n), MAX_SESSION)
    )
    products = _related(pop, rng, group, position, sessions, SAME_CATEGORY["view"])
    starts = now - 2 * MARGIN_S - rng.random(sessions) * days * DAY_S
    times = starts[group] + position * 75 + rng.uniform(0, 30, len(group))
    session_visitors = rng.integers(0, visitors, sessions)
    parts.append(_part("view", products, session_visitors[group], times))
    for kind in ("add_to_cart", "click"):
        count = lines[kind]
        times = now - MARGIN_S - rng.random(count) * days * DAY_S
        parts.append(_part(kind, pop.draw(rng, count), rng.integers(0, visitors, count), times))
    result = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    result["quantity"] = rng.choice([1, 1, 1, 1, 2, 3], len(result["kind"]))
    result["cents"] = rng.integers(199, 20_000, len(result["kind"]))
    return result


def visitor_id(number: int) -> str:
    return f"bench-visitor-{number}"


# --- the history written with COPY --------------------------------------------------------------
def history_copy(events: dict, stamp: str) -> None:
    """Events and their keys, as the import path stores them (source `import`)."""
    from behaviour import partitions
    from behaviour.visitors import visitor_hash

    moments = events["time"]
    days = np.arange(moments.min(), moments.max() + DAY_S, DAY_S)
    partitions.partitions_ensure(
        partitions.month_start(dt.datetime.fromtimestamp(t, dt.UTC)) for t in [*days, moments.max()]
    )
    hashes = [visitor_hash(visitor_id(v)) for v in range(int(events["visitor"].max()) + 1)]
    stamps = np.datetime_as_string((moments * 1e6).astype("datetime64[us]"), timezone="UTC")
    # Plain lists: indexing NumPy arrays per row costs more than the formatting itself.
    kinds, visitors, products, orders, quantities, cents = (
        events[name].tolist()
        for name in ("kind", "visitor", "product", "order", "quantity", "cents")
    )
    purchase = KINDS.index("purchase")

    def purchase_fields(i: int) -> str:
        if kinds[i] != purchase:
            return "\t\\N\t\\N"  # no order id, quantity or price
        return f"ho{orders[i]}\t{quantities[i]}\t{cents[i] / 100:.2f}"

    def event_lines():
        for start in range(0, len(moments), COPY_CHUNK):
            rows = range(start, min(start + COPY_CHUNK, len(moments)))
            yield "".join(
                f"h{i}\t{stamps[i]}\t{KINDS[kinds[i]]}\t{hashes[visitors[i]]}\t{products[i]}"
                f"\t{purchase_fields(i)}\timport\n"
                for i in rows
            ).encode()

    def key_lines():
        for start in range(0, len(moments), COPY_CHUNK):
            rows = range(start, min(start + COPY_CHUNK, len(moments)))
            yield "".join(f"h{i}\t{stamps[i]}\t{stamp}\n" for i in rows).encode()

    latency._copy(
        "COPY behaviour_event (event_id, occurred_at, kind, visitor, product_id, order_id, "
        "quantity, unit_price, source) FROM STDIN",
        event_lines(),
    )
    latency._copy(
        "COPY behaviour_eventkey (event_id, occurred_at, received_at) FROM STDIN", key_lines()
    )
    for table in ("behaviour_event", "behaviour_eventkey"):
        latency.sql(f"VACUUM (ANALYZE) {table}")


def history_summary(events: dict) -> dict:
    purchase = events["kind"] == KINDS.index("purchase")
    orders = np.unique(events["order"][purchase])
    bought = np.unique(events["product"][purchase])
    return {
        "events": int(len(events["kind"])),
        "by_kind": {kind: int((events["kind"] == i).sum()) for i, kind in enumerate(KINDS)},
        "orders": int(len(orders)),
        "mean_basket": round(float(purchase.sum() / max(1, len(orders))), 2),
        "products_bought": int(len(bought)),
        "visitors": int(events["visitor"].max()) + 1,
        "days": HISTORY_DAYS,
    }


def catalogue_build(args, rng) -> tuple[Popularity, dict]:
    """Products (COPY), vectors and their index unless --no-vectors, then the history."""
    started = time.monotonic()
    leaves = latency.categories_create()
    stamp = dt.datetime.now(dt.UTC).isoformat()
    latency.products_copy(1, args.products, leaves, args.seed, stamp, images=False)
    setup: dict = {}
    if not args.no_vectors:
        version = latency.version_create("bench-behaviour-clustered", active=True)
        latency.vectors_copy(version, "clustered", 1, args.products, args.seed, images=False)
        latency.vacuum_analyze()
        setup["index"] = latency.index_build(version)
    setup["catalogue_s"] = round(time.monotonic() - started, 1)
    pop = Popularity(args.products, rng)
    started = time.monotonic()
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    events = history(pop, rng, args.events, visitors, time.time(), HISTORY_DAYS)
    history_copy(events, stamp)
    setup["history"] = history_summary(events)
    setup["history_s"] = round(time.monotonic() - started, 1)
    log(f"catalogue and history written: {setup}")
    return pop, setup


# --- API event batches --------------------------------------------------------------------------
def batch_events(pop, rng, prefix: str, visitors: int, count: int = BATCH) -> list[dict]:
    """`count` event dicts as partners send them, of the last day, ids unique under `prefix`."""
    events = history(pop, rng, count + count // 5, visitors, time.time(), 1)
    rows = rng.permutation(len(events["kind"]))[:count]
    items = []
    for n, i in enumerate(rows):
        kind = KINDS[events["kind"][i]]
        item = {
            "event_id": f"{prefix}-{n}",
            "kind": kind,
            "sku": latency.sku(int(events["product"][i])),
            "visitor_id": visitor_id(int(events["visitor"][i])),
            "occurred_at": dt.datetime.fromtimestamp(events["time"][i], OFFSET).isoformat(),
        }
        if kind == "purchase":
            item["order_id"] = f"{prefix}-o{events['order'][i]}"
            item["quantity"] = int(events["quantity"][i])
            item["unit_price"] = f"{events['cents'][i] / 100:.2f}"
        items.append(item)
    return items


def body_of(items: list[dict]) -> bytes:
    return json.dumps({"events": items}).encode()


def post(port: int, key: str, body: bytes) -> tuple[float, dict]:
    """One batch on a new connection (gunicorn's sync workers close each): seconds, answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request(
            "POST",
            "/api/v1/events/",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
        )
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"POST /api/v1/events/ answered {response.status}: {data[:500]!r}")
    return seconds, json.loads(data)


# --- CPU of the web workers and of their PostgreSQL backends ------------------------------------
def worker_cpu(server) -> float:
    import psutil

    total = 0.0
    for process in psutil.Process(server.process.pid).children(recursive=True):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of every backend connected to the bench database but this process's own
    (the web workers keep theirs: CONN_MAX_AGE)."""
    import psutil

    rows = latency.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    )
    seconds = {}
    for (pid,) in rows:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seconds[pid] = times.user + times.system
    return seconds


class CpuMeter:
    """CPU seconds spent by the web workers, their backends and this process over a phase."""

    def __init__(self, server, database: str):
        self.server, self.database = server, database

    def __enter__(self):
        self.workers = worker_cpu(self.server)
        self.backends = backend_cpu(self.database)
        self.client = time.process_time()
        return self

    def __exit__(self, *exc):
        after = backend_cpu(self.database)
        self.result = {
            "workers_s": worker_cpu(self.server) - self.workers,
            # A backend that closed during the phase is missed: a lower bound.
            "postgres_s": sum(s - self.backends.get(pid, 0.0) for pid, s in after.items()),
            "client_s": time.process_time() - self.client,
        }


# --- ingestion ----------------------------------------------------------------------------------
def ingest_phase(server, key: str, bodies: list[bytes], clients: int, database: str) -> dict:
    """`clients` threads posting the bodies as fast as answers come back."""
    queue, lock = iter(bodies), threading.Lock()
    results: list[tuple[float, dict]] = []
    errors: list[BaseException] = []

    def client() -> None:
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                return
            try:
                results.append(post(server.port, key, body))
            except (OSError, RuntimeError) as exc:  # reported below with the phase
                errors.append(exc)
                return

    threads = [threading.Thread(target=client) for _ in range(clients)]
    with CpuMeter(server, database) as cpu:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"ingestion with {clients} clients failed: {errors[0]}")
    totals = {name: sum(r[1][name] for r in results) for name in ("accepted", "duplicates")}
    totals["rejected"] = sum(r[1]["rejected"] for r in results)
    reasons = sorted(
        {e["reason"] for r in results for e in r[1]["events"] if e["status"] == "rejected"}
    )
    batches = len(results)
    result = {
        "clients": clients,
        "batches": batches,
        "seconds": round(wall, 2),
        **totals,
        "accepted_per_s": round(totals["accepted"] / wall),
        "duplicates_per_s": round(totals["duplicates"] / wall),
        **latency.percentiles([r[0] * 1000 for r in results]),
        "reject_reasons": reasons[:3],
        "workers_cpu_ms_per_batch": round(1000 * cpu.result["workers_s"] / batches, 1),
        "postgres_cpu_ms_per_batch": round(1000 * cpu.result["postgres_s"] / batches, 1),
        "client_cpu_ms_per_batch": round(1000 * cpu.result["client_s"] / batches, 1),
        "load_avg": load_avg(),
    }
    log(f"  ingestion, {clients} clients: {result}")
    return result


def ingestion_measure(args, server, key: str, pop, rng) -> dict:
    """The accept phases (1, 2, 4 clients), then phase one's batches resent at the best."""
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    started = time.monotonic()
    phases = {
        clients: [
            body_of(batch_events(pop, rng, f"api{clients}b{b}", visitors))
            for b in range(args.batches)
        ]
        for clients in args.clients
    }
    log(f"  {args.batches * len(args.clients)} bodies built in {time.monotonic() - started:.1f} s")
    post(server.port, key, body_of(batch_events(pop, rng, "warm", visitors, 50)))
    rows = [ingest_phase(server, key, phases[c], c, args.database) for c in args.clients]
    best = max(rows, key=lambda row: row["accepted_per_s"])
    resent = ingest_phase(server, key, phases[args.clients[0]], best["clients"], args.database)
    return {
        "rows": rows,
        "resent": resent,
        "body_kb": round(statistics.mean(len(b) for b in phases[args.clients[0]]) / 1024),
    }


class StepClock:
    """Wraps module functions for a while, summing the wall and CPU (this thread) seconds spent
    in each by label; `step(label)` times a block the same way. CPU apart from wall time tells
    this process's work from waiting (on PostgreSQL, or for a core the other load holds)."""

    def __init__(self, targets: dict[str, tuple[object, str]]):
        self.targets = targets
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def __enter__(self):
        self.originals = {}
        for label, (module, name) in self.targets.items():
            original = getattr(module, name)
            self.originals[label] = original
            setattr(module, name, self._timed(label, original))
        return self

    @contextmanager
    def step(self, label: str):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.seconds[label] += time.perf_counter() - wall
            self.cpu[label] += time.thread_time() - cpu

    def _timed(self, label: str, function):
        def timed(*args, **kwargs):
            with self.step(label):
                return function(*args, **kwargs)

        return timed

    def __exit__(self, *exc):
        for label, (module, name) in self.targets.items():
            setattr(module, name, self.originals[label])


def ingest_breakdown(pop, rng, visitors: int, batches: int = 10) -> dict:
    """One batch's time in-process (no HTTP, no gunicorn): JSON parse, the per-event checks,
    the SKU lookup, the two INSERTs and rendering the answer. New events, all accepted."""
    from django.conf import settings
    from django.utils import timezone
    from rest_framework.renderers import JSONRenderer

    from behaviour.services import ingest
    from catalog import selectors as catalog_selectors

    bodies = [body_of(batch_events(pop, rng, f"inproc{b}", visitors)) for b in range(batches)]
    inner = {
        "SKU lookup (one query)": (catalog_selectors, "product_ids_by_sku"),
        "store (key INSERT … ON CONFLICT, event INSERT; one transaction)": (ingest, "_store"),
    }
    checks = "per-event checks (event_check ×1,000)"
    rest = "rest of events_record (outcomes, partition check)"
    days = settings.PRODSIM_EVENT_RETENTION_DAYS
    with StepClock(inner) as clock:
        for body in bodies:
            with clock.step("JSON parse of the body"):
                items = json.loads(body)["events"]
            # The checks timed as a loop of their own (a wrapper per call would cost a few
            # microseconds each); events_record runs them again, so `rest` takes them out.
            now = timezone.now()
            oldest = now - dt.timedelta(days=days)
            with clock.step(checks):
                for item in items:
                    ingest.event_check(item, now=now, oldest=oldest, retention_days=days)
            with clock.step(rest):
                outcomes = ingest.events_record(items=items)
            with clock.step("render the answer (1,000 outcomes)"):
                JSONRenderer().render(
                    {"accepted": len(outcomes), "events": [o.__dict__ for o in outcomes]}
                )
            assert all(o.status == "accepted" for o in outcomes), outcomes[:3]
    for times in (clock.seconds, clock.cpu):  # `rest` timed the whole call: take the steps out
        times[rest] -= sum(times[label] for label in [*inner, checks])
    labels = ["JSON parse of the body", checks, *inner, rest, "render the answer (1,000 outcomes)"]
    result = {
        "batches": batches,
        "wall_ms": {label: round(1000 * clock.seconds[label] / batches, 1) for label in labels},
        "cpu_ms": {label: round(1000 * clock.cpu[label] / batches, 1) for label in labels},
    }
    log(f"  ingestion in-process: {result}")
    return result


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


# --- list latency -------------------------------------------------------------------------------
def get_timed(port: int, path: str, key: str) -> tuple[float, int, dict, bytes]:
    started = time.perf_counter()
    status, headers, body = latency.get(port, path, {"Authorization": f"Api-Key {key}"})
    return (time.perf_counter() - started) * 1000, status, headers, body


def sequential(port: int, key: str, paths: list[str], *, clear_each: bool = False) -> dict:
    """One request after another (a new connection each); every answer must be a cache miss
    with k items. By fill: `own` = all k items from the product's own list."""
    from django.core.cache import cache

    cache.clear()
    times, views, fills = [], [], defaultdict(list)
    problems = defaultdict(int)
    for path in paths:
        if clear_each:
            cache.clear()
        ms, status, headers, body = get_timed(port, path, key)
        payload = json.loads(body) if status == 200 else {}
        times.append(ms)
        views.append(float(headers.get("Server-Timing", "dur=nan").split("dur=")[1]))
        if status != 200 and not problems["non-200"]:
            log(f"  first non-200 answer: {status} {path} {body[:300]!r}")
        problems["non-200"] += status != 200
        problems["cache hits"] += headers.get("X-Cache") == "hit"
        problems[f"k < {K}"] += payload.get("k_returned", 0) < K
        tiers = [item["tier"] for item in payload.get("results", [])]
        own = sum(tier in ("bought_together", "also_viewed") for tier in tiers)
        fill = "own" if own == K else "partly own" if own else "none own"
        fills[fill].append(ms)
        for tier in set(tiers):
            problems[f"tier {tier}"] += 1
    return {
        **latency.percentiles(times),
        "server_view": latency.percentiles(views),
        "by_fill": {name: latency.percentiles(ms) for name, ms in sorted(fills.items())},
        "counts": dict(problems),
        "load_avg": load_avg(),
    }


def wrk_run(
    port: int,
    key: str,
    products: int,
    *,
    connections: int,
    seconds: int,
    work_dir: Path,
    offset: int,
    list_name: str = "bought-together",
) -> dict:
    from django.core.cache import cache

    cache.clear()
    script = work_dir / f"wrk-{list_name}-{connections}.lua"
    script.write_text(
        WRK_LUA
        % {
            "n": products,
            "stride": latency.SKU_STRIDE,
            "offset": offset,
            "auth": f"Api-Key {key}",
            "list": list_name,
            "k": K,
        }
    )
    figures, command = latency.wrk_figures(script, port, connections=connections, seconds=seconds)
    result = {**figures, "command": command, "load_avg": load_avg()}
    log(f"  wrk {list_name}: {result}")
    return result


def lists_measure(args, server, key: str, rng, work_dir: Path) -> dict:
    def path(list_name: str, product: int) -> str:
        return f"/api/v1/products/{latency.sku(product)}/{list_name}/?k={K}"

    ids = rng.permutation(np.arange(1, args.products + 1))
    warm, sample = ids[:20], ids[20 : 20 + min(args.requests, args.products - 20)]
    for product in warm:  # workers import, connect and load the serving state
        get_timed(server.port, path("bought-together", int(product)), key)
    result = {
        "bought_together": sequential(
            server.port, key, [path("bought-together", int(p)) for p in sample]
        ),
        "also_viewed": sequential(
            server.port,
            key,
            [path("also-viewed", int(p)) for p in sample[: args.other_requests]],
        ),
        "trending": sequential(
            server.port, key, [f"/api/v1/trending/?k={K}"] * args.other_requests, clear_each=True
        ),
    }
    log(f"  lists (sequential): {result}")
    if shutil.which("wrk"):
        offset = int(rng.integers(args.products))
        result["wrk"] = [
            wrk_run(
                server.port,
                key,
                args.products,
                connections=c,
                seconds=args.duration,
                work_dir=work_dir,
                offset=offset + c * 7,
            )
            for c in (1, 4)
        ]
    return result


# --- freshness ----------------------------------------------------------------------------------
class Beat(threading.Thread):
    """Celery beat and a worker, in one thread: the refresh task every `interval` seconds (a
    tick missed while a refresh runs is dropped, as the schedule's `expires` drops it)."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval, self.stop = interval, threading.Event()
        self.ticks: list[dict] = []
        self.error: BaseException | None = None
        self.busy = False  # inside a tick (its entry is appended before this turns False)
        self.origin = time.monotonic()

    def run(self) -> None:
        from django.db import connections

        from behaviour.models import BehaviourRefresh
        from behaviour.tasks import behaviour_refresh_task

        next_tick = self.origin
        try:
            while not self.stop.wait(max(0.0, next_tick - time.monotonic())):
                before = BehaviourRefresh.objects.values_list("pk", flat=True).order_by("-pk")
                last = before.first()
                self.busy, started = True, time.monotonic()
                behaviour_refresh_task()  # the task body: refreshes only when events arrived
                ended = time.monotonic()
                latest = BehaviourRefresh.objects.order_by("-pk").first()
                ran = latest is not None and latest.pk != last
                self.ticks.append(
                    {
                        "start": started,
                        "end": ended,
                        "refresh_s": round(ended - started, 2) if ran else None,
                    }
                )
                self.busy = False
                next_tick += self.interval
                while next_tick < time.monotonic():
                    next_tick += self.interval
        except Exception as exc:  # noqa: BLE001 (handed to the main thread, which raises it)
            self.error = exc
        finally:
            connections.close_all()


def cold_products(count: int, rng) -> list[int]:
    """Products with no bought-together list and in no one's list: never bought together."""
    from behaviour.models import ItemAssociation
    from catalog.models import Product

    listed = set(
        ItemAssociation.objects.filter(kind=ItemAssociation.Kind.BOUGHT_TOGETHER).values_list(
            "product_id", flat=True
        )
    )
    cold = [pk for pk in Product.objects.values_list("pk", flat=True) if pk not in listed]
    if len(cold) < count:
        raise RuntimeError(f"only {len(cold)} never-bought products; {count} needed")
    return [int(pk) for pk in rng.choice(cold, count, replace=False)]


def pair_listed(body: bytes, other: str) -> bool:
    return any(
        item["sku"] == other and item["tier"] == "bought_together"
        for item in json.loads(body)["results"]
    )


def freshness_trial(server, keys: dict, beat: Beat, pop, rng, pair, avoid, visitors, trial):
    """Post a batch holding an order of the pair at a random moment of the beat cycle; poll
    the first product's bought-together answer (through the cache, as shoppers see it).

    `trial` is (number, trials): trial n posts at a random moment of the n-th of `trials`
    equal slices of the cycle, so the trials together cover it from just after a tick (the
    longest wait) to just before one.

    The batch's other events leave out every trial's products (`avoid`, SKUs), so each pair
    stays the first product's only partner."""
    number, trials = trial
    first, second = (latency.sku(p) for p in pair)
    filler = [
        e for e in batch_events(pop, rng, f"fresh{number}", visitors) if e["sku"] not in avoid
    ][: BATCH - 2]
    now = dt.datetime.now(OFFSET) - dt.timedelta(seconds=30)
    order = {"order_id": f"fresh{number}-pair", "quantity": 1, "unit_price": "19.90"}
    pair_events = [
        {
            "event_id": f"fresh{number}-pair-{i}",
            "kind": "purchase",
            "sku": sku,
            "visitor_id": visitor_id(0),
            "occurred_at": now.isoformat(),
            **order,
        }
        for i, sku in enumerate((first, second))
    ]
    path = f"/api/v1/products/{first}/bought-together/?k={K}"
    _, status, _, before = get_timed(server.port, path, keys["read"])
    assert status == 200 and not pair_listed(before, second), before[:300]
    phase = float((number + rng.random()) / trials * beat.interval)
    cycles = np.ceil((time.monotonic() + 0.2 - beat.origin - phase) / beat.interval)
    time.sleep(max(0.0, beat.origin + phase + cycles * beat.interval - time.monotonic()))
    sent = time.monotonic()
    _, answer = post(server.port, keys["write"], body_of(filler + pair_events))
    posted = time.monotonic()
    assert answer["accepted"] == len(filler) + 2, {k: answer[k] for k in ("accepted", "rejected")}
    deadline = posted + 3 * beat.interval + 600
    seen, polls = None, 0
    while seen is None and time.monotonic() < deadline:
        if beat.error:
            raise beat.error
        _, status, _, body = get_timed(server.port, path, keys["read"])
        polls += 1
        if status == 200 and pair_listed(body, second):
            seen = time.monotonic()
        else:
            time.sleep(POLL_S)
    if seen is None:
        raise RuntimeError(f"the pair {first} + {second} never showed in {path}")
    while beat.busy:  # the tick that refreshed is recorded when it returns
        time.sleep(0.01)
    covering = [t for t in beat.ticks if t["refresh_s"] is not None and t["end"] <= seen][-1]
    result = {
        "pair": [first, second],
        "beat_phase_s": round(phase, 2),
        "post_s": round(posted - sent, 3),
        "wait_for_tick_s": round(covering["start"] - posted, 2),
        "refresh_s": covering["refresh_s"],
        "visible_s": round(seen - sent, 2),
        "polls": polls,
        "load_avg": load_avg(),
    }
    log(f"  freshness trial {number}: {result}")
    return result


def freshness_measure(args, server, keys: dict, pop, rng) -> dict:
    from django.conf import settings

    interval = args.beat_interval or settings.PRODSIM_BEHAVIOUR_REFRESH_S
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    products = cold_products(2 * args.trials, rng)
    avoid = {latency.sku(p) for p in products}
    beat = Beat(interval)
    beat.start()
    try:
        trials = [
            freshness_trial(
                server,
                keys,
                beat,
                pop,
                rng,
                products[2 * t : 2 * t + 2],
                avoid,
                visitors,
                (t, args.trials),
            )
            for t in range(args.trials)
        ]
    finally:
        beat.stop.set()
        beat.join()
    if beat.error:
        raise beat.error
    return {"interval_s": interval, "trials": trials}


# --- run ----------------------------------------------------------------------------------------
def load_avg() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run(args, work_dir: Path, machine: dict, command: str) -> dict:
    from partners.models import PartnerApiKey

    rng = np.random.default_rng(args.seed)
    figures = {"profile": args.profile, "command": command, "machine": machine}
    figures["load_avg_start"] = load_avg()
    pop, figures["setup"] = catalogue_build(args, rng)
    figures["products"] = args.products
    log(f"refresh ×{args.refreshes}")
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
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
            sequential, get_timed, server.port, read_key, args, rng, visitors
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


def ingestion_table(ingestion: dict) -> str:
    header = [
        "phase",
        "clients",
        "batches",
        "events/s",
        "batch p50 ms",
        "batch p99 ms",
        "web workers CPU ms/batch",
        "PostgreSQL CPU ms/batch",
        "client CPU ms/batch",
        "rejected",
        "load 1/5/15 min",
    ]
    lines = []
    for name, r in [("accept", r) for r in ingestion["rows"]] + [("resend", ingestion["resent"])]:
        rate = r["accepted_per_s"] if name == "accept" else r["duplicates_per_s"]
        lines.append(
            [
                name,
                r["clients"],
                r["batches"],
                f"{rate:,}",
                f"{r['p50_ms']:.0f}",
                f"{r['p99_ms']:.0f}",
                r["workers_cpu_ms_per_batch"],
                r["postgres_cpu_ms_per_batch"],
                r["client_cpu_ms_per_batch"],
                r["rejected"],
                " / ".join(map(str, r["load_avg"])),
            ]
        )
    wall, cpu = ingestion["in_process"]["wall_ms"], ingestion["in_process"]["cpu_ms"]
    breakdown = markdown_table(
        ["one batch in-process (no HTTP)", "wall ms", "CPU ms (this process)"],
        [[label, ms, cpu[label]] for label, ms in wall.items()]
        + [["total", round(sum(wall.values()), 1), round(sum(cpu.values()), 1)]],
    )
    return markdown_table(header, lines) + "\n\n" + breakdown


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


def lists_table(lists: dict) -> str:
    header = [
        "sequential client",
        "n",
        "p50 ms",
        "p99 ms",
        "view p50 ms",
        "view p99 ms",
        "answers by tier (count of answers holding it)",
        "load 1/5/15 min",
    ]
    lines = []
    for name in ("bought_together", "also_viewed", "trending"):
        lat = lists[name]
        tiers = ", ".join(
            f"{k[5:]} {v}" for k, v in sorted(lat["counts"].items()) if k.startswith("tier ")
        )
        lines.append(
            [
                name.replace("_", " "),
                lat["n"],
                lat["p50_ms"],
                lat["p99_ms"],
                lat["server_view"]["p50_ms"],
                lat["server_view"]["p99_ms"],
                tiers,
                " / ".join(map(str, lat["load_avg"])),
            ]
        )
    fills = lists["bought_together"]["by_fill"]
    by_fill = markdown_table(
        ["bought together, answer filled by", "n", "p50 ms", "p99 ms"],
        [[name, s["n"], s["p50_ms"], s["p99_ms"]] for name, s in fills.items()],
    )
    return markdown_table(header, lines) + "\n\n" + by_fill


def freshness_table(fresh: dict) -> str:
    header = [
        "trial",
        "posted at beat phase s",
        "POST s",
        "wait for the tick s",
        "refresh s",
        "post → listed s",
        "load 1/5/15 min",
    ]
    return markdown_table(
        header,
        [
            [
                i + 1,
                t["beat_phase_s"],
                t["post_s"],
                t["wait_for_tick_s"],
                t["refresh_s"],
                t["visible_s"],
                " / ".join(map(str, t["load_avg"])),
            ]
            for i, t in enumerate(fresh["trials"])
        ],
    )


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
{history_["products_bought"]:,} products bought at least once, {history_["visitors"]:,} visitors.
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
