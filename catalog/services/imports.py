"""Catalogue import jobs: create them, run them row by row, record every problem.

Claiming, cancelling, time-outs and the bounded attempts are the shared job lifecycle
(core.jobs); an import adds its counts, which every end writes with the row, and announces the
products it wrote however it ends (catalogue_import as its work stops, the lifecycle's
ended_without_its_work where no work got that far), so each gets its vectors and search text.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet

from core.jobs import JobLifecycle, ProgressWriter, job_end, request_cancel
from core.jobs.deletion import jobs_delete_with_files
from core.jobs.stored_files import job_created_with_uploads

from .. import changes
from ..image_sources import (
    ERROR_ARCHIVE_TOO_LARGE,
    DirectoryImageSource,
    ImageSourceError,
    ZipImageSource,
)
from ..images import InvalidImage, prepare_image
from ..importers import CsvHeaderError, ProductRow, RowProblem, parse_catalogue_csv
from ..models import Category, ImportJob, ImportRowError, Product, ProductImage
from ..selectors import product_sku_stored
from .products import ImageToAttach, UpsertOutcome, product_upsert

logger = logging.getLogger(__name__)

ERROR_CSV_TOO_LARGE = "the CSV file is larger than {limit} bytes"
ERROR_CSV_UNREADABLE = "the uploaded CSV cannot be read: {reason}"
IMPORT_TASK = "catalog.tasks.catalogue_import_task"

ERROR_TOO_MANY_ATTEMPTS = "the import was interrupted {attempts} times and is not retried again"
ERROR_TIMED_OUT = "the import was stopped by its time limit after {seconds} s"
ERROR_IMAGES_WITHOUT_SOURCE = "the row lists images but the import has no images folder or zip"
IMAGES_KEPT = "; the product keeps the images it has (none of this row's is applied)"
ERROR_CANCELLED_QUEUED = "cancelled by an admin before it started; nothing was imported"
ERROR_CANCELLED_RUNNING = (
    "cancelled by an admin after {done} of {total} rows; the rows imported until then stay"
)
ERROR_INTERRUPTED = "interrupted after {done} of {total} rows; the rows imported until then stay"
COUNT_FIELDS = (
    "rows_total",
    "rows_done",
    "created_count",
    "updated_count",
    "unchanged_count",
    "failed_count",
    "images_added",
    "images_rejected",
)
PROGRESS_EVERY_ROWS = 25  # progress writes cost a query; 25 rows is well under a second of work

ProgressCallback = Callable[[ImportJob], None]


class CsvUnreadable(ValueError):
    """The job's stored CSV cannot be read where the import runs (gone, or media not shared)."""


class ImportLifecycle(JobLifecycle[ImportJob]):
    """An import's lifecycle: a bad CSV or images source fails it with the reason (any other
    error propagates, leaving the row to the task's retry); a time-out fails it; every end also
    writes the counts, so a stopped import reports the rows it did."""

    model = ImportJob
    error_cancelled = ERROR_CANCELLED_RUNNING
    error_too_many_attempts = ERROR_TOO_MANY_ATTEMPTS
    error_timed_out = ERROR_TIMED_OUT
    timed_out_state = ImportJob.State.FAILED
    task = IMPORT_TASK
    failures = (CsvHeaderError, CsvUnreadable, ImageSourceError)
    counts_cancelled_delivery = True

    def claim(self, job_id: int, *, max_attempts: int, **filters) -> ImportJob | None:
        """The lifecycle's claim; a delivery that runs the job counts from zero, saved now: until
        its first progress write the page would divide an earlier attempt's rows by this
        attempt's seconds (a rate and an ETA made up). The file's line count stays."""
        job = super().claim(job_id, max_attempts=max_attempts, **filters)
        if job is not None and not job.is_finished:
            counts = [name for name in COUNT_FIELDS if name != "rows_total"]
            for name in counts:
                setattr(job, name, 0)
            job.save(update_fields=counts)
        return job

    def cancelled_error(self, job: ImportJob) -> str:
        return self.error_cancelled.format(done=job.rows_done, total=job.rows_total)

    def end(
        self, job: ImportJob, *, state: str, error: str = "", fields: Iterable[str] = ()
    ) -> ImportJob:
        job_end(job, state=state, error=error, fields=[*COUNT_FIELDS, *fields])
        logger.info("Import %s finished: %s %s", job.pk, job.state, error)
        return job

    def ended_without_its_work(self, job: ImportJob) -> None:
        # Ended by a claim (past its attempts, or cancelled while requeued) or by the worker
        # parent's hard time limit: the attempts that wrote rows were killed before
        # catalogue_import's `finally`, so nothing announced them; without this they would
        # never get vectors, search text or a cache drop until imported again.
        written = _changed_since_start(job) if job.started_at is not None else []
        if written:
            changes.catalogue_changed(product_ids=written)
            if inactive := _off_since_start(job, is_active=False):
                changes.products_withdrawn(product_ids=inactive)
            if out_of_stock := _off_since_start(job, in_stock=False):
                changes.products_sold_out(product_ids=out_of_stock)


IMPORTS = ImportLifecycle()


class ImportFileTooLarge(ValueError):
    """An import's file over its limit, found before anything was copied or stored."""


def import_files_size_check(csv_file: UploadedFile | Path, images) -> None:
    """ImportFileTooLarge for a CSV over PRODSIM_MAX_CSV_BYTES or an images zip over
    PRODSIM_MAX_ARCHIVE_BYTES (the run checks them again, on what it reads)."""
    csv_size_check(csv_file)
    if images is not None and not (isinstance(images, Path) and images.is_dir()):
        archive_size_check(images)


def csv_size_check(csv_file: UploadedFile | Path) -> None:
    if _size(csv_file) > (limit := settings.PRODSIM_MAX_CSV_BYTES):
        raise ImportFileTooLarge(ERROR_CSV_TOO_LARGE.format(limit=limit))


def archive_size_check(archive: UploadedFile | Path) -> None:
    if _size(archive) > (limit := settings.PRODSIM_MAX_ARCHIVE_BYTES):
        raise ImportFileTooLarge(ERROR_ARCHIVE_TOO_LARGE.format(limit=limit))


def _size(file: UploadedFile | Path) -> int:
    return file.stat().st_size if isinstance(file, Path) else file.size


def import_job_create(
    *,
    csv_file: UploadedFile | Path,
    images: UploadedFile | Path | None = None,
    user=None,
    enqueue: bool = True,
) -> ImportJob:
    """Store the uploaded (or server-side) files on a new job; enqueue it after commit.

    With enqueue=False the caller runs it (import_job_run), e.g. the command's progress bar.
    A file over its limit raises ImportFileTooLarge before anything is copied (a multi-GB zip
    copied only to be refused would stay in the media folder). Whatever stops it (a storage
    error, Ctrl-C while a large zip is copied), the files it had stored are deleted: no job
    names them, so nothing else ever would.
    """
    import_files_size_check(csv_file, images)
    job = ImportJob(created_by=user)
    uploads = [(job.csv_file, csv_file)]
    if isinstance(images, Path) and images.is_dir():
        job.images_dir = str(images.resolve())
    elif images is not None:
        uploads.append((job.images_file, images))
    job_created_with_uploads(job, uploads, task=IMPORT_TASK, enqueue=enqueue)
    return job


def import_job_run(*, job_id: int, progress: ProgressCallback | None = None) -> ImportJob | None:
    """Run a queued (or interrupted) job; give up after PRODSIM_IMPORT_MAX_ATTEMPTS starts.

    Safe to run twice: rows are upserts, so a redelivered job redoes finished rows as no-ops.
    """
    job = IMPORTS.claim(job_id, max_attempts=settings.PRODSIM_IMPORT_MAX_ATTEMPTS)
    if job is None or job.is_finished:
        return job
    try:
        return IMPORTS.run(job, lambda job: _import(job, progress))
    except KeyboardInterrupt:  # Ctrl-C in import_catalogue: the row in flight has rolled back
        error = ERROR_INTERRUPTED.format(done=job.rows_done, total=job.rows_total)
        IMPORTS.end(job, state=ImportJob.State.CANCELLED, error=error)
        raise


def _import(job: ImportJob, progress: ProgressCallback | None) -> None:
    job.row_errors.all().delete()  # a rerun reports this run's problems, counted from zero
    catalogue_import(job=job, progress=progress)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Cancel an import and return its row (core.jobs.cancel): a queued one ends now,
    before any row is read; a running one stops at its next progress write (every
    PROGRESS_EVERY_ROWS rows, see catalogue_import). A finished import is left as it is."""
    with transaction.atomic():
        return request_cancel(ImportJob, job.pk, queued_error=ERROR_CANCELLED_QUEUED)


def import_jobs_delete(*, jobs: QuerySet[ImportJob]) -> tuple[int, int]:
    """Delete the imports no worker runs, with their uploaded CSV and zip; (deleted, kept running).

    A running import is kept: it is cancelled first (import_job_cancel) and deleted once it has
    ended. A server-side images folder (images_dir) is the operator's, never deleted."""
    return jobs_delete_with_files(jobs=jobs, file_fields=["csv_file", "images_file"])


def import_job_time_out(*, job_id: int, seconds: float) -> ImportJob | None:
    """A time limit ended the job: it fails with that reason (rows already imported stay)."""
    return IMPORTS.time_out(job_id, seconds=seconds)


def catalogue_import(*, job: ImportJob, progress: ProgressCallback | None = None) -> None:
    """Import the job's CSV row by row; each row commits (or fails) on its own."""
    data = _read_csv(job)
    currency = settings.PRODSIM_DEFAULT_CURRENCY
    # Parsed twice, counted then imported, rather than kept: a 200 MB CSV's parsed rows took
    # gigabytes, and parsing a row costs little beside writing it.
    job.rows_total = sum(
        1 for item in parse_catalogue_csv(data, default_currency=currency) if item.line > 1
    )
    items = parse_catalogue_csv(data, default_currency=currency)
    source = _image_source(job)
    changed: list[int] = []
    withdrawn: list[int] = []  # announced once at the end: each withdrawal drops every list
    sold_out: list[int] = []  # likewise: each drops every list of products in stock
    # Categories by path for this run: a catalogue names a few hundred paths over 100k rows.
    categories: dict[str, Category] = {}
    # Raises JobCancelled at the write after an admin's request; every row before it stays.
    report = ProgressWriter(
        job, write=lambda job: _save_progress(job, progress), every=PROGRESS_EVERY_ROWS
    )
    try:
        for item in items:
            if isinstance(item, RowProblem):
                _record_problem(job, item)
            else:
                _import_row(job, item, source, (changed, withdrawn, sold_out), categories)
            report(job, done=job.rows_done)
    finally:
        if source is not None:
            source.close()
        changes.catalogue_changed(product_ids=_changed_by_job(job, changed))
        if withdrawn_by_job := _off_by_job(job, withdrawn, is_active=False):
            changes.products_withdrawn(product_ids=withdrawn_by_job)
        if sold_out_by_job := _off_by_job(job, sold_out, in_stock=False):
            changes.products_sold_out(product_ids=sold_out_by_job)
    _save_progress(job, progress)


def _changed_by_job(job: ImportJob, changed_now: list[int]) -> list[int]:
    """The products this job changed, even a partial run: those of this run and, on a rerun
    (Celery's retry after an outage, the reaper's requeue), those an earlier run wrote.

    An earlier run's rows are UNCHANGED to the rerun, and its announcement (in `finally`) may
    have failed with the database or died with the worker: announced again here, they get their
    text refresh, embedding and cache drop. (A job that ends with no rerun announces them through
    ImportLifecycle.ended_without_its_work.)
    """
    if job.attempts <= 1 or job.started_at is None:
        return changed_now
    return sorted({*changed_now, *_changed_since_start(job)})


def _off_by_job(job: ImportJob, off_now: list[int], **off: bool) -> list[int]:
    """This run's flips to `off` (withdrawn: `is_active=False`; sold out: `in_stock=False`)
    and, on a rerun, an earlier run's. Which of the earlier writes flipped a product is no
    longer known, so every product written since the first claim and off now counts (a rare
    path: at worst the cached lists go once more than needed)."""
    if job.attempts <= 1 or job.started_at is None:
        return off_now
    return sorted({*off_now, *_off_since_start(job, **off)})


def _off_since_start(job: ImportJob, **off: bool) -> list[int]:
    products = Product.objects.filter(updated_at__gte=job.started_at, **off)
    return list(products.order_by("pk").values_list("pk", flat=True))


def _changed_since_start(job: ImportJob) -> list[int]:
    """Since the first claim (started_at) every product the job wrote has a later updated_at; a
    product another writer changed meanwhile is announced too, which only repeats idempotent
    work."""
    products = Product.objects.filter(updated_at__gte=job.started_at).order_by("pk")
    return list(products.values_list("pk", flat=True))


def _read_csv(job: ImportJob) -> bytes:
    limit = settings.PRODSIM_MAX_CSV_BYTES
    try:
        with job.csv_file.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:  # deleted, or a worker that does not share the media folder
        raise CsvUnreadable(ERROR_CSV_UNREADABLE.format(reason=exc)) from exc
    if len(data) > limit:
        raise CsvHeaderError(ERROR_CSV_TOO_LARGE.format(limit=limit))
    return data


def _image_source(job: ImportJob):
    max_bytes = settings.PRODSIM_MAX_IMAGE_BYTES
    if job.images_dir:
        return DirectoryImageSource(Path(job.images_dir), max_bytes=max_bytes)
    if job.images_file:
        return ZipImageSource(
            Path(job.images_file.path),
            max_bytes=max_bytes,
            max_archive_bytes=settings.PRODSIM_MAX_ARCHIVE_BYTES,
        )
    return None


def _record_problem(job: ImportJob, problem: RowProblem) -> None:
    level = (
        ImportRowError.Level.ROW_REJECTED if problem.fatal_for_row else ImportRowError.Level.WARNING
    )
    ImportRowError.objects.create(
        job=job,
        line=problem.line,
        column=problem.column[:100],
        sku=problem.sku[:200],
        level=level,
        message=problem.message,
    )
    if problem.line > 1:
        job.rows_done += 1
        job.failed_count += problem.fatal_for_row


def _import_row(
    job: ImportJob,
    row: ProductRow,
    source,
    written: tuple[list[int], list[int], list[int]],
    categories: dict[str, Category],
) -> None:
    """`written`: the lists of changed, withdrawn and sold-out products this row adds to."""
    if row.sku_as_written and (stored := product_sku_stored(sku=row.sku_as_written)):
        row = replace(row, sku=stored)  # stored before SKUs were normalised: keep its spelling
    images, rejected = [], []
    for path in row.image_paths:
        try:
            images.append(_load_image(source, path))
        except (ImageSourceError, InvalidImage) as exc:
            rejected.append(f"{path}: {exc}")
    # A file's row replaces a product's images only with every image it lists: no `images`
    # column or an empty cell (a price update), or an image that could not be read this time
    # (a forgotten zip), leaves the stored ones as they are.
    keep_stored = bool(rejected) and ProductImage.objects.filter(product__sku=row.sku).exists()
    for message in rejected:
        job.images_rejected += 1
        ImportRowError.objects.create(
            job=job,
            line=row.line,
            column="images",
            sku=row.sku,
            level=ImportRowError.Level.IMAGE_REJECTED,
            message=message + (IMAGES_KEPT if keep_stored else ""),
        )
    listed = row.image_paths and not keep_stored
    result = product_upsert(
        row=row, images=images if listed else None, notify=False, categories=categories
    )
    changed, withdrawn, sold_out = written
    if result.outcome != UpsertOutcome.UNCHANGED:
        changed.append(result.product_id)
    if result.withdrawn:
        withdrawn.append(result.product_id)
    if result.sold_out:
        sold_out.append(result.product_id)
    job.rows_done += 1
    job.created_count += result.outcome == UpsertOutcome.CREATED
    job.updated_count += result.outcome == UpsertOutcome.UPDATED
    job.unchanged_count += result.outcome == UpsertOutcome.UNCHANGED
    job.images_added += result.images_added


def _load_image(source, path: str) -> ImageToAttach:
    if source is None:
        raise ImageSourceError(ERROR_IMAGES_WITHOUT_SOURCE)
    prepared = prepare_image(
        source.read(path),
        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
    )
    return ImageToAttach(prepared=prepared, source_name=path)


def _save_progress(job: ImportJob, progress: ProgressCallback | None) -> None:
    job.save(update_fields=list(COUNT_FIELDS))
    if progress:
        progress(job)
