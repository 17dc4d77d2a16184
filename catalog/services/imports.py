"""Catalogue import jobs: create them, run them row by row, record every problem."""

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from prodsim_site.job_cancel import cancel_requested
from similarity.services import catalogue_changed_request

from ..image_sources import ImageSourceError, open_image_source
from ..images import InvalidImage, prepare_image
from ..importers import CsvHeaderError, ProductRow, RowProblem, parse_catalogue_csv
from ..models import ImportJob, ImportRowError
from .products import ImageToAttach, UpsertOutcome, product_upsert

logger = logging.getLogger(__name__)

ERROR_CSV_TOO_LARGE = "the CSV file is larger than {limit} bytes"
ERROR_TOO_MANY_ATTEMPTS = "the import was interrupted {attempts} times and is not retried again"
ERROR_TIMED_OUT = "the import was stopped by its time limit after {seconds} s"
ERROR_IMAGES_WITHOUT_SOURCE = "the row lists images but the import has no images folder or zip"
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


class ImportCancelled(Exception):
    """An admin cancelled the running import; every row finished before stays (each commits
    on its own), the rest is not read."""


@transaction.atomic
def import_job_create(
    *,
    csv_file: UploadedFile | Path,
    images: UploadedFile | Path | None = None,
    user=None,
    enqueue: bool = True,
) -> ImportJob:
    """Store the uploaded (or server-side) files on a new job; enqueue it after commit.

    With enqueue=False the caller runs it (import_job_run), e.g. the command's progress bar.
    """
    job = ImportJob(created_by=user)
    _attach(job.csv_file, csv_file)
    if isinstance(images, Path) and images.is_dir():
        job.images_dir = str(images.resolve())
    elif images is not None:
        _attach(job.images_file, images)
    job.save()
    if enqueue:
        from ..tasks import catalogue_import_task  # tasks import services; avoid the cycle

        catalogue_import_task.delay_on_commit(job.pk)
    return job


def _attach(field_file, source: UploadedFile | Path) -> None:
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            field_file.save(source.name, File(handle), save=False)
    else:
        field_file.save(source.name, source, save=False)


def import_job_run(*, job_id: int, progress: ProgressCallback | None = None) -> ImportJob | None:
    """Run a queued (or interrupted) job; give up after PRODSIM_IMPORT_MAX_ATTEMPTS starts.

    Safe to run twice: rows are upserts, so a redelivered job redoes finished rows as no-ops.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        job.attempts += 1
        job.state = ImportJob.State.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["attempts", "state", "started_at"])
    if job.cancel_requested:  # cancelled while running, then redelivered: stop here
        return _finish_cancelled(job)
    if job.attempts > settings.PRODSIM_IMPORT_MAX_ATTEMPTS:
        return _finish(job, error=ERROR_TOO_MANY_ATTEMPTS.format(attempts=job.attempts - 1))
    _reset_counts(job)
    try:
        catalogue_import(job=job, progress=progress)
    except (CsvHeaderError, ImageSourceError) as exc:
        return _finish(job, error=str(exc))
    except ImportCancelled:
        return _finish_cancelled(job)
    except KeyboardInterrupt:  # Ctrl-C in import_catalogue: the row in flight has rolled back
        _finish_cancelled(job, reason=ERROR_INTERRUPTED)
        raise
    return _finish(job)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Cancel an import and return its row (prodsim_site.job_cancel): a queued one ends now,
    before any row is read; a running one stops at its next progress write (every
    PROGRESS_EVERY_ROWS rows, see catalogue_import). A finished import is left as it is."""
    with transaction.atomic():
        return cancel_requested(ImportJob, job.pk, queued_error=ERROR_CANCELLED_QUEUED)


def import_job_time_out(*, job_id: int, seconds: float) -> ImportJob | None:
    """A time limit ended the job: it fails with that reason (rows already imported stay)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return job
    return _finish(job, error=ERROR_TIMED_OUT.format(seconds=int(seconds)))


def _reset_counts(job: ImportJob) -> None:
    job.row_errors.all().delete()
    for name in COUNT_FIELDS:
        setattr(job, name, 0)


def _finish(job: ImportJob, *, error: str = "", state: str | None = None) -> ImportJob:
    job.state = state or (ImportJob.State.FAILED if error else ImportJob.State.SUCCEEDED)
    job.error = error
    job.finished_at = timezone.now()
    # Not the whole row: this copy's cancel_requested may be older than the admin's request.
    job.save(update_fields=["state", "error", "finished_at", *COUNT_FIELDS])
    logger.info("Import %s finished: %s %s", job.pk, job.state, error)
    return job


def _finish_cancelled(job: ImportJob, *, reason: str = ERROR_CANCELLED_RUNNING) -> ImportJob:
    error = reason.format(done=job.rows_done, total=job.rows_total)
    return _finish(job, error=error, state=ImportJob.State.CANCELLED)


def catalogue_import(*, job: ImportJob, progress: ProgressCallback | None = None) -> None:
    """Import the job's CSV row by row; each row commits (or fails) on its own."""
    data = _read_csv(job)
    items = list(parse_catalogue_csv(data, default_currency=settings.PRODSIM_DEFAULT_CURRENCY))
    job.rows_total = sum(1 for item in items if item.line > 1)
    source = _image_source(job)
    changed: list[int] = []
    try:
        for item in items:
            if isinstance(item, RowProblem):
                _record_problem(job, item)
            else:
                _import_row(job, item, source, changed)
            if job.rows_done % PROGRESS_EVERY_ROWS == 0:
                _save_progress(job, progress)
                if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                    raise ImportCancelled
    finally:
        if source is not None:
            source.close()
        catalogue_changed_request(product_ids=changed)  # even a partial import changed these
    _save_progress(job, progress)


def _read_csv(job: ImportJob) -> bytes:
    limit = settings.PRODSIM_MAX_CSV_BYTES
    with job.csv_file.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise CsvHeaderError(ERROR_CSV_TOO_LARGE.format(limit=limit))
    return data


def _image_source(job: ImportJob):
    max_bytes = settings.PRODSIM_MAX_IMAGE_BYTES
    if job.images_dir:
        return open_image_source(Path(job.images_dir), max_bytes=max_bytes)
    if job.images_file:
        return open_image_source(
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


def _import_row(job: ImportJob, row: ProductRow, source, changed: list[int]) -> None:
    images = []
    for path in row.image_paths:
        try:
            images.append(_load_image(source, path))
        except (ImageSourceError, InvalidImage) as exc:
            job.images_rejected += 1
            ImportRowError.objects.create(
                job=job,
                line=row.line,
                column="images",
                sku=row.sku,
                level=ImportRowError.Level.IMAGE_REJECTED,
                message=f"{path}: {exc}",
            )
    result = product_upsert(row=row, images=images, notify=False)
    if result.outcome != UpsertOutcome.UNCHANGED:
        changed.append(result.product_id)
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
