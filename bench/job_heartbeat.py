"""What job heartbeats and the reaper cost: the figures behind PRODSIM_JOB_HEARTBEAT_S.

Works in its own database (`prodsim_bench_jobs` on the embedded server, flushed first).

  write     one heartbeat (core.jobs.heartbeat): a compare-and-set UPDATE of the job's row by
            primary key, committed; p50 / p99 over --beats writes, one at a time
  not due   a progress write between two beats only checks the clock (ns per call)
  reaper    one pass of core.jobs.reaper.jobs_reap over --jobs finished import rows plus 100
            running ones with fresh heartbeats (the steady state: nothing to requeue); median

The share of a worker's time its heartbeats take is the write's p50 over the interval.

    nice -n 5 .venv/bin/python bench/job_heartbeat.py
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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

SECTION = "job-heartbeat"
DATABASE = "prodsim_bench_jobs"
NOT_DUE_CALLS = 100_000
REAPER_PASSES = 20
RUNNING_JOBS = 100


def setup(work_dir: Path) -> None:
    django_on_bench_database(DATABASE, work_dir)


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def measure_beats(beats: int) -> dict:
    from catalog.models import ImportJob
    from core.jobs.heartbeat import Heartbeat

    heartbeat = Heartbeat(ImportJob.objects.create(state="running", attempts=1))
    seconds = []
    for _ in range(beats):
        start = time.perf_counter()
        assert heartbeat.write(), "the bench's own claim was lost"
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    start = time.perf_counter()
    for _ in range(NOT_DUE_CALLS):
        heartbeat.beat()  # just written: never due here
    not_due_ns = (time.perf_counter() - start) / NOT_DUE_CALLS * 1e9
    return {
        "beats": beats,
        "write_p50_ms": round(percentile(seconds, 0.5) * 1e3, 2),
        "write_p99_ms": round(percentile(seconds, 0.99) * 1e3, 2),
        "not_due_ns": round(not_due_ns),
    }


def measure_reaper(jobs: int) -> dict:
    from django.utils import timezone

    from catalog.models import ImportJob
    from core.jobs.reaper import jobs_reap

    ImportJob.objects.bulk_create(ImportJob(state="succeeded") for _ in range(jobs))
    now = timezone.now()
    ImportJob.objects.bulk_create(
        ImportJob(state="running", attempts=1, heartbeat_at=now) for _ in range(RUNNING_JOBS)
    )
    seconds = []
    for _ in range(REAPER_PASSES):
        start = time.perf_counter()
        assert jobs_reap() == [], "a fresh job was requeued"
        seconds.append(time.perf_counter() - start)
    return {"jobs": jobs + RUNNING_JOBS, "reaper_ms": round(statistics.median(seconds) * 1e3, 1)}


def section_markdown(row: dict) -> str:
    table = markdown_table(
        [
            "heartbeat write p50 / p99 (ms)",
            "check, not due (ns)",
            "interval (s)",
            "share of a worker's time",
            "reaper pass (ms)",
            "job rows",
        ],
        [
            [
                f"{row['write_p50_ms']} / {row['write_p99_ms']}",
                row["not_due_ns"],
                row["interval_s"],
                f"{row['share_percent']} %",
                row["reaper_ms"],
                f"{row['jobs']:,}",
            ]
        ],
    )
    return "\n\n".join(
        [
            "### Job heartbeats and the reaper (`bench/job_heartbeat.py`)",
            f"One process, `nice -n 5`, embedded PostgreSQL on the same machine. {row['beats']} "
            "heartbeat writes one at a time (a compare-and-set UPDATE by primary key, each its "
            "own commit); the not-due check is what every progress write between two beats "
            f"costs; a reaper pass over {row['jobs']:,} import rows of which "
            f"{RUNNING_JOBS} are running with fresh heartbeats (nothing to requeue), median of "
            f"{REAPER_PASSES}. Share = write p50 / PRODSIM_JOB_HEARTBEAT_S. "
            f"Load average after: {row['load_after']}.",
            table,
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beats", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=10_000, help="finished job rows")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    machine = machine_info()
    with tempfile.TemporaryDirectory() as work_dir:
        setup(Path(work_dir))
        from django.conf import settings

        row = {**measure_beats(args.beats), **measure_reaper(args.jobs)}
        row["interval_s"] = settings.PRODSIM_JOB_HEARTBEAT_S
    row["share_percent"] = round(row["write_p50_ms"] / 1e3 / row["interval_s"] * 100, 3)
    row["load_after"] = round(os.getloadavg()[0], 1)
    print_json(SECTION, row)
    log(str(row))
    if not args.no_doc:
        write_section(SECTION, section_markdown(row), machine=machine)
    return row


if __name__ == "__main__":
    sys.exit(main() and 0)
