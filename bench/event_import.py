"""Bulk event import speed (#16: >= 50,000 events/s; the online-retail history in under a minute).

Works in its own database (`prodsim_bench_event_import` on the embedded server, flushed first)
and times the import job itself (behaviour.services.imports: what `manage.py import_events` and
the admin's upload run), from a stored CSV to every line counted:

  online-retail  the shop's whole order history (../shared/data/online-retail), every line as
                 the shop exported it (cancellations and fee codes included: they are rejected
                 or kept with their reasons), after its catalogue; then the same file again
                 (every line a duplicate)
  synthetic      --events lines of views, basket adds and purchases of --products products by
                 --visitors shoppers over the retention period, one distinct time per line
                 (the memoised time parsing gains nothing), no event ids (each is derived)

events/s is accepted events over the job's wall time; lines/s counts every line. The 1-minute
load average is read at the start and at the end of each import, because the machine is shared.
With --profile, the synthetic import also runs under cProfile and the top functions are printed.

    nice -n 5 .venv/bin/python bench/event_import.py [--events 1000000] [--no-doc]
"""

import argparse
import cProfile
import csv
import datetime as dt
import gzip
import os
import pstats
import random
import tempfile
import threading
import time
from pathlib import Path

import _online_retail as online_retail
from _report import (
    django_on_bench_database,
    ensure_repo_on_path,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)

ensure_repo_on_path()

SECTION = "event-import"
DATABASE = "prodsim_bench_event_import"
SHOP_ZONE = "Europe/London"
TARGET_EVENTS_PER_S = 50_000
TARGET_HISTORY_S = 60
WRITER_ORDER = [0, 1, 2]
SAMPLE_S = 0.2  # backend CPU sampling period
KIND_SHARES = (("view", 0.7), ("add_to_cart", 0.1), ("purchase", 0.2))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=online_retail.DATA)
    parser.add_argument("--events", type=int, default=1_000_000, help="synthetic lines")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the online-retail file")
    parser.add_argument("--synthetic-rounds", type=int, default=1)
    parser.add_argument("--skip-retail", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the synthetic import")
    parser.add_argument("--no-doc", action="store_true")
    return parser.parse_args(argv)


def setup(work_dir: Path, database: str) -> None:
    # The shop's history is years old: keep all of it (the setting's maximum, 100 years).
    os.environ.update({"PRODSIM_EVENT_RETENTION_DAYS": "36500", "PRODSIM_LOG_LEVEL": "WARNING"})
    django_on_bench_database(database, work_dir)


def catalogue_import(path: Path) -> int:
    from catalog.services import import_job_create, import_job_run

    job = import_job_create(csv_file=path, enqueue=False)
    return import_job_run(job_id=job.pk).created_count


def events_clear() -> None:
    """Empty the event tables, so the next import starts from the same state as the last."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE behaviour_event, behaviour_eventkey")


class BackendCpu(threading.Thread):
    """CPU seconds of the bench database's backends (but the sampler's own) over an import,
    read every SAMPLE_S: a backend that exits counts up to its last sample, one that starts
    from its first (a lower bound, off by at most a sample of each writer's backend)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.ready = threading.Event(), threading.Event()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def run(self) -> None:
        from django.db import connection

        try:
            self._sample(connection)  # the import's own connection is open already
            self.ready.set()
            while not self.stop.wait(SAMPLE_S):
                self._sample(connection)
            self._sample(connection)
        finally:
            connection.close()

    def _sample(self, connection) -> None:
        import psutil

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            pids = [row[0] for row in cursor.fetchall()]
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            self.first.setdefault(pid, times.user + times.system)
            self.last[pid] = times.user + times.system

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def timed_import(
    path: Path, *, time_zone: str = "", writers: int = 2, profile: Path | None = None
) -> dict:
    """Run one import job in this process, its chunks stored by `writers` writer threads (0:
    inline, as before the pipeline); its counts, wall time and the load around it."""
    from behaviour.services.imports import event_import_job_create, event_import_job_run, jobs

    jobs.STORE_WRITERS = writers
    load_before = os.getloadavg()[0]
    job = event_import_job_create(csv_file=path, time_zone=time_zone, enqueue=False)
    profiler = cProfile.Profile() if profile else None
    backends = BackendCpu()
    backends.start()
    backends.ready.wait(timeout=30)
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    job = event_import_job_run(job_id=job.pk)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds, python_s = time.perf_counter() - started, time.process_time() - cpu_started
    backends.stop.set()
    backends.join()
    assert job.state == "succeeded", (job.state, job.error)
    return {
        "lines": job.rows_total,
        "accepted": job.accepted_count,
        "duplicates": job.duplicate_count,
        "rejected": job.rejected_count,
        "seconds": round(seconds, 2),
        "events_per_s": round(job.accepted_count / seconds),
        "lines_per_s": round(job.rows_total / seconds),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        # CPU µs per line: this process (reading, checks, the writers' Python) and PostgreSQL
        "python_us": round(1e6 * python_s / job.rows_total, 1),
        "postgres_us": round(1e6 * backends.seconds() / job.rows_total, 1),
    }


def retail_files(source: Path, folder: Path) -> tuple[Path, Path]:
    """The shop's catalogue (latest title and price per code) and its order lines as exported."""
    latest: dict[str, dict] = {}
    orders = folder / "retail-orders.csv"
    with (
        gzip.open(source, "rt", encoding="utf-8", newline="") as handle,
        open(orders, "w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["order_id", "occurred_at", "visitor_id", "sku", "quantity", "unit_price"])
        for row in csv.DictReader(handle):
            if row["Description"].strip() or row["StockCode"] not in latest:
                latest[row["StockCode"]] = row
            visitor = row["CustomerID"].split(".")[0] or f"guest-{row['InvoiceNo']}"
            quantity = int(float(row["Quantity"]))
            price = f"{float(row['UnitPrice']):.2f}"
            writer.writerow(
                [row["InvoiceNo"], row["InvoiceDate"], visitor, row["StockCode"], quantity, price]
            )
    catalogue = folder / "retail-catalogue.csv"
    with open(catalogue, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "title", "price", "currency"])
        for sku, row in latest.items():
            title = row["Description"].strip() or sku
            price = f"{max(float(row['UnitPrice']), 0):.2f}"
            writer.writerow([sku, title[:300], price, "GBP"])
    return catalogue, orders


def synthetic_files(args, folder: Path) -> tuple[Path, Path]:
    rng = random.Random(16)
    catalogue = folder / "synthetic-catalogue.csv"
    with open(catalogue, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "title", "price", "currency"])
        for number in range(args.products):
            writer.writerow([f"SKU-{number:06d}", f"Product {number}", "9.99", "EUR"])
    events = folder / "synthetic-events.csv"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    kinds, weights = zip(*KIND_SHARES, strict=True)
    with open(events, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["kind", "occurred_at", "visitor_id", "sku", "order_id", "quantity", "unit_price"]
        )
        for number in range(args.events):
            kind = rng.choices(kinds, weights)[0]
            at = now - dt.timedelta(seconds=rng.randrange(300 * 86_400))
            sku = f"SKU-{int(rng.paretovariate(1.2)) % args.products:06d}"
            visitor = f"shopper-{rng.randrange(args.visitors)}"
            order = (f"O{number // 3}", rng.randint(1, 4), "9.99") if kind == "purchase" else ()
            writer.writerow([kind, at.isoformat(), visitor, sku, *(order or ("", "", ""))])
    return catalogue, events


def writers_compared(
    path: Path, name: str, *, rounds: int, time_zone: str = "", profile=None
) -> dict:
    """The same file imported with 0 (inline, as before), 1 and 2 writer threads, each into
    emptied event tables, `rounds` times with the order rotated (so load drifts hit each
    alike); then once more onto the stored file (every line a duplicate)."""
    runs: dict[int, list[dict]] = {0: [], 1: [], 2: []}
    for round_ in range(rounds):
        for writers in WRITER_ORDER[round_ % 3 :] + WRITER_ORDER[: round_ % 3]:
            events_clear()
            profiled = profile if writers == 2 and not runs[2] else None
            runs[writers].append(
                timed_import(path, time_zone=time_zone, writers=writers, profile=profiled)
            )
            log(f"{name}, round {round_ + 1}, {writers} writer(s): {runs[writers][-1]}")
    again = timed_import(path, time_zone=time_zone)
    log(f"{name} again: {again}")
    return {"writers": runs, "again": again}


def retail_measure(args, folder: Path) -> dict | None:
    source = args.data / online_retail.DEV_FILE
    if not source.exists():
        log(f"{source} is missing: the online-retail import is skipped")
        return None
    catalogue, orders = retail_files(source, folder)
    products = catalogue_import(catalogue)
    log(f"online-retail: {products} products")
    return {
        "products": products,
        **writers_compared(orders, "online-retail", rounds=args.rounds, time_zone=SHOP_ZONE),
    }


def synthetic_measure(args, folder: Path) -> dict:
    catalogue, events = synthetic_files(args, folder)
    products = catalogue_import(catalogue)
    log(f"synthetic: {products} products, {args.events} lines")
    profile = folder / "import.prof" if args.profile else None
    figures = writers_compared(events, "synthetic", rounds=args.synthetic_rounds, profile=profile)
    if profile:
        pstats.Stats(str(profile)).sort_stats("tottime").print_stats(30)
    return {"products": products, **figures}


def import_row(
    name: str, figures: dict, rounds: list[str] | None = None, writers: int | None = None
) -> list:
    events_ok = "met" if figures["events_per_s"] >= TARGET_EVENTS_PER_S else "missed"
    events = f"{figures['events_per_s']:,} ({events_ok})" if figures["accepted"] else "–"
    return [
        name,
        f"{figures['lines']:,}",
        f"{figures['accepted']:,} / {figures['duplicates']:,} / {figures['rejected']:,}",
        f"{figures['seconds']:.1f}",
        events,
        f"{figures['lines_per_s']:,}",
        f"{figures['python_us']} / {figures['postgres_us']}",
        "–" if writers is None else f"{idle_bound(figures, writers):,}",
        ", ".join(rounds or []) or "–",
        f"{figures['load'][0]} → {figures['load'][1]}",
    ]


def idle_bound(figures: dict, writers: int) -> int:
    """Lines/s the CPU per line allows on an idle 2-core machine: inline, Python and
    PostgreSQL take turns; one writer overlaps them (the slower side bounds); two writers
    let the database use both cores, but the reading and checks stay on one thread."""
    python, postgres = figures["python_us"], figures["postgres_us"]
    if writers == 0:
        per_line = python + postgres
    elif writers == 1:
        per_line = max(python, postgres)
    else:
        per_line = max(python, (python + postgres) / 2)
    return round(1e6 / per_line) if per_line else 0


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda run: run["lines_per_s"])[len(runs) // 2]


def file_rows(name: str, figures: dict) -> list[list]:
    runs = figures["writers"]
    labels = {
        0: f"{name}, stored inline (before)",
        1: f"{name}, 1 writer thread",
        2: f"**{name}, 2 writer threads (default)**",
    }
    rows = []
    for writers, label in labels.items():
        ratios = [
            f"{run['lines_per_s']:,} ({run['lines_per_s'] / inline['lines_per_s']:.2f}×)"
            for run, inline in zip(runs[writers], runs[0], strict=True)
        ]
        rows.append(import_row(label, median_run(runs[writers]), ratios, writers))
    rows.append(import_row(f"{name} again (all duplicates)", figures["again"]))
    return rows


def section_markdown(figures: dict) -> str:
    retail, synthetic = figures.get("retail"), figures["synthetic"]
    rows = file_rows("online-retail history", retail) if retail else []
    rows += file_rows(f"synthetic {synthetic['again']['lines']:,}", synthetic)
    table = markdown_table(
        [
            "import",
            "lines",
            "accepted / duplicates / rejected",
            "s",
            f"events/s (target ≥ {TARGET_EVENTS_PER_S:,})",
            "lines/s",
            "CPU µs/line: Python / PostgreSQL",
            "idle 2-core bound, lines/s",
            "lines/s each round (× inline, same round)",
            "load avg start → end",
        ],
        rows,
    )
    history = (
        f"With the default, the online-retail history took "
        f"{median_run(retail['writers'][2])['seconds']:.1f} s (median round) "
        f"(target under {TARGET_HISTORY_S} s)."
        if retail
        else "The online-retail data was missing: its import was skipped."
    )
    return (
        "## Bulk event import (#16)\n\n"
        "`bench/event_import.py`: the import job (`manage.py import_events`, the admin's upload) "
        "in one process on the embedded PostgreSQL, from a stored CSV to every line counted. "
        "events/s = accepted events over the job's wall time. Each file is imported into emptied "
        "event tables with its chunks stored inline (each before the next is read, as before "
        "`behaviour/services/imports/pipeline.py`), by one and by two writer threads (the "
        "default, `jobs.STORE_WRITERS`), side by side in one run, in rounds with the order "
        "rotated (the median round is shown, every round beside it); then once more, when "
        "every line is a duplicate. The machine is shared: the load average is read around "
        "each import, and the CPU each line cost this process (reading, checks, the writers' "
        "Python) and the database's backends (sampled every 0.2 s) is what load changes "
        "least; the idle 2-core bound is the rate that CPU allows with both cores free "
        "(inline: the two sides take turns; one writer: the slower side; two writers: the "
        "database on both cores, the checks on one thread).\n\n"
        f"{table}\n\n{history}"
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="bench-event-import-") as work:
        work_dir = Path(work)
        setup(work_dir, args.database)
        figures = {"retail": None if args.skip_retail else retail_measure(args, work_dir)}
        figures["synthetic"] = synthetic_measure(args, work_dir)
    print_json(SECTION, {**figures, "machine": machine})
    if not args.no_doc:
        write_section(SECTION, section_markdown(figures), machine=machine)
    return figures


if __name__ == "__main__":
    main()
