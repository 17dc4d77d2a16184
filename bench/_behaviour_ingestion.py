"""Ingestion in bench/behaviour_serving.py: batches of events built as partners send them,
posted to `POST /api/v1/events/` by concurrent clients (events/s, latency and CPU per batch),
where one batch's time goes in-process, and the ingestion tables of the report."""

import datetime as dt
import http.client
import json
import statistics
import threading
import time

import similar_latency as latency
from _behaviour_history import EVENTS_PER_VISITOR, KINDS, history, visitor_id
from _behaviour_measure import CpuMeter, StepClock, load_avg
from _report import log, markdown_table

BATCH = 1000  # events per POST: the API's maximum (behaviour.services.ingest.MAX_BATCH)
OFFSET = dt.timezone(dt.timedelta(hours=1))  # API events carry a UTC offset, as partners send


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


# --- report -------------------------------------------------------------------------------------
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
