"""Event import jobs: create them, run them a chunk at a time, cancel them.

Claiming, cancelling, time-outs and the bounded attempts are the shared job lifecycle
(core.jobs); an import adds its counts, which every end writes with the row.
"""

import logging
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet

from core.jobs import ClaimLost, JobLifecycle, ProgressWriter, job_end, request_cancel
from core.jobs.deletion import file_delete_on_commit, jobs_delete_with_files
from core.jobs.stored_files import job_created_with_uploads

from ...importers import (
    CHUNK_LINES,
    CsvHeaderError,
    data_line_count,
    read_event_csv,
    time_zone_named,
)
from ...models import EventImportJob
from .checks import EventChecks
from .chunks import ChunkWriter, chunk_check
from .collector import collect_young, young_collections_only
from .pipeline import ChunkPipeline

logger = logging.getLogger(__name__)

IMPORT_TASK = "behaviour.tasks.events_import_task"

ERROR_FILE_MISSING = "the uploaded CSV file is no longer in storage"
ERROR_CSV_TOO_LARGE = "the CSV file is {size} bytes, larger than PRODSIM_MAX_CSV_BYTES ({limit})"
ERROR_TOO_MANY_ATTEMPTS = "the import was interrupted {attempts} times and is not retried again"
ERROR_TIMED_OUT = "the import was stopped by its time limit after {seconds} s"
ERROR_CANCELLED_QUEUED = "cancelled by an admin before it started; nothing was imported"
ERROR_CANCELLED_RUNNING = (
    "cancelled by an admin after {done} of {total} lines; the events imported until then stay"
)
ERROR_INTERRUPTED = "interrupted after {done} of {total} lines; the events imported until then stay"
ERROR_UNEXPECTED = (
    "stopped by an unexpected error ({error}) after {done} of {total} lines; "
    "the events imported until then stay"
)
# Writer threads storing chunks while the next is checked (pipeline.py); 0 stores inline. Two:
# storing costs more than checking, so with one the checks wait (bench/event_import.py).
STORE_WRITERS = 2
COUNT_FIELDS = ("rows_total", "rows_done", "accepted_count", "duplicate_count", "rejected_count")

ProgressCallback = Callable[[EventImportJob], None]


class CsvTooLarge(ValueError):
    """The CSV is over PRODSIM_MAX_CSV_BYTES, the import limit of catalogue and event CSVs."""


def csv_size_check(size: int) -> None:
    """Raises CsvTooLarge for a CSV of `size` bytes over PRODSIM_MAX_CSV_BYTES."""
    if size > (limit := settings.PRODSIM_MAX_CSV_BYTES):
        raise CsvTooLarge(ERROR_CSV_TOO_LARGE.format(size=size, limit=limit))


class EventImportLifecycle(JobLifecycle[EventImportJob]):
    """An event import's lifecycle: an unusable header or a lost file fails it with the reason, and
    so does any other error but an outage (which the task retries): a line the checks did not
    foresee would fail every retry alike. Every end also writes the counts."""

    model = EventImportJob
    error_cancelled = ERROR_CANCELLED_RUNNING
    error_too_many_attempts = ERROR_TOO_MANY_ATTEMPTS
    error_timed_out = ERROR_TIMED_OUT
    timed_out_state = EventImportJob.State.FAILED
    task = IMPORT_TASK
    failures = (Exception,)  # outages, time limits and a lost claim propagate first (run)
    counts_cancelled_delivery = True

    def cancelled_error(self, job: EventImportJob) -> str:
        return self.error_cancelled.format(done=job.rows_done, total=job.rows_total)

    def failure_error(self, job: EventImportJob, exc: Exception) -> str:
        if isinstance(exc, FileNotFoundError):
            return ERROR_FILE_MISSING
        if isinstance(exc, CsvHeaderError | CsvTooLarge):
            return str(exc)
        # The error's name only: its text may quote the file's lines (raw visitor ids).
        name = type(exc).__name__
        logger.error("Event import %s stopped by an unexpected %s", job.pk, name)
        return ERROR_UNEXPECTED.format(error=name, done=job.rows_done, total=job.rows_total)

    def end(
        self, job: EventImportJob, *, state: str, error: str = "", fields: Iterable[str] = ()
    ) -> EventImportJob:
        raw_file = _raw_file_forget(job)
        try:
            job_end(job, state=state, error=error, fields=[*COUNT_FIELDS, "csv_file", *fields])
        except ClaimLost:
            # The attempt that holds the job now still reads the file.
            job.csv_file.name = raw_file
            raise
        _raw_file_delete(job, raw_file)
        logger.info("Event import %s finished: %s %s", job.pk, job.state, error)
        return job


IMPORTS = EventImportLifecycle()


def _raw_file_forget(job: EventImportJob) -> str:
    """Clear the job's file field (the caller saves the row) and return the file's name: it
    holds the shop's raw visitor ids, and only their hashes may outlive the import."""
    raw_file = job.csv_file.name
    job.csv_file.name = ""
    return raw_file


def _raw_file_delete(job: EventImportJob, raw_file: str) -> None:
    """Delete the file once the row that no longer names it commits; one that cannot be removed
    is logged and leaves the job ended as it is."""
    file_delete_on_commit(job.csv_file.storage, raw_file)


def event_import_job_create(
    *, csv_file: UploadedFile | Path, time_zone: str = "", user=None, enqueue: bool = True
) -> EventImportJob:
    """Store the uploaded (or server-side) CSV on a new job; enqueue it after commit.

    `time_zone` (an IANA name, ValueError if unknown) is applied to times without a UTC offset;
    without one such lines are rejected. A CSV over PRODSIM_MAX_CSV_BYTES raises CsvTooLarge (a
    ValueError) before it is copied. With enqueue=False the caller runs it (the command).
    Whatever stops it (a storage error, Ctrl-C while the file is copied), the file it had
    stored is deleted: no job names it, so nothing else ever would.
    """
    time_zone_named(time_zone)
    csv_size_check(csv_file.stat().st_size if isinstance(csv_file, Path) else csv_file.size)
    job = EventImportJob(created_by=user, time_zone=time_zone)
    job_created_with_uploads(job, [(job.csv_file, csv_file)], task=IMPORT_TASK, enqueue=enqueue)
    return job


def event_import_job_run(
    *, job_id: int, progress: ProgressCallback | None = None
) -> EventImportJob | None:
    """Run a queued (or interrupted) job; give up after PRODSIM_IMPORT_MAX_ATTEMPTS starts.

    Safe to run twice: the lines a first run stored are duplicates the second time.
    """
    job = IMPORTS.claim(job_id, max_attempts=settings.PRODSIM_IMPORT_MAX_ATTEMPTS)
    if job is None or job.is_finished:
        return job
    try:
        return IMPORTS.run(job, lambda job: _import(job, progress))
    except KeyboardInterrupt:  # Ctrl-C: chunks on writers commit, one stored inline rolls back
        error = ERROR_INTERRUPTED.format(done=job.rows_done, total=job.rows_total)
        IMPORTS.end(job, state=EventImportJob.State.CANCELLED, error=error)
        raise


def _import(job: EventImportJob, progress: ProgressCallback | None) -> None:
    job.row_errors.all().delete()  # a rerun reports this run's problems, counted from zero
    for name in COUNT_FIELDS:
        setattr(job, name, 0)
    events_import(job=job, progress=progress)


def event_import_job_cancel(*, job: EventImportJob) -> EventImportJob:
    """Cancel an import (core.jobs.cancel): a queued one ends now, before any line is read; a
    running one stops at its next progress write, after the chunks in flight."""
    with transaction.atomic():
        job = request_cancel(EventImportJob, job.pk, queued_error=ERROR_CANCELLED_QUEUED)
        if job.is_finished and job.csv_file.name:  # ended before a worker claimed it
            raw_file = _raw_file_forget(job)
            job.save(update_fields=["csv_file"])
            _raw_file_delete(job, raw_file)
        return job


def event_import_jobs_delete(*, jobs: QuerySet[EventImportJob]) -> tuple[int, int]:
    """Delete the jobs that no worker runs, with their raw files; (deleted, kept running).

    A running import is kept: it is cancelled first (event_import_job_cancel), so that its
    worker stops and ends it, deleting the file. The row lock orders this against a claim."""
    return jobs_delete_with_files(jobs=jobs, file_fields=["csv_file"])


def event_import_job_time_out(*, job_id: int, seconds: float) -> EventImportJob | None:
    """A time limit ended the job: it fails with that reason (events already stored stay)."""
    return IMPORTS.time_out(job_id, seconds=seconds)


def events_import(*, job: EventImportJob, progress: ProgressCallback | None = None) -> None:
    """Import the job's CSV a chunk of CHUNK_LINES lines at a time; each chunk commits alone."""
    write = partial(_save_progress, progress=progress)
    # Raises JobCancelled at the write after an admin's request; every chunk before it stays.
    report = ProgressWriter(job, write=write)
    checks = EventChecks(retention_days=settings.PRODSIM_EVENT_RETENTION_DAYS)
    writer = ChunkWriter(job)
    with job.csv_file.open("rb") as stream:
        csv_size_check(job.csv_file.size)  # a job queued before the limit was lowered
        job.rows_total = data_line_count(stream)
        write(job)
        zone = time_zone_named(job.time_zone)
        try:
            pipeline = ChunkPipeline(job, writer, writers=STORE_WRITERS)
            with young_collections_only(), pipeline as store:
                for chunk in read_event_csv(stream, zone=zone, chunk_lines=CHUNK_LINES):
                    store.submit(chunk_check(chunk, checks))
                    collect_young()
                    report(job)
        finally:
            writer.close()
    write(job)


def _save_progress(job: EventImportJob, progress: ProgressCallback | None) -> None:
    job.save(update_fields=list(COUNT_FIELDS))
    if progress:
        progress(job)
