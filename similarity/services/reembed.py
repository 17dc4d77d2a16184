"""Bulk re-embedding: resumable through an `embed` Job row holding a cursor.

Operators run it in the foreground (`manage.py reembed`) or queue it for the `ml` worker
(`reembed_request`). A worker killed mid-run leaves the job running with its cursor; the
redelivered task continues after the cursor, and every write is an upsert, so a repeated batch
never duplicates a vector.
"""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from prodsim_site.outages import DATABASE_OUTAGE

from ..models import Job, ModelVersion
from .embedding import DEFAULT_BATCH_SIZE, EmbedProgress, images_embed, images_to_embed
from .jobs import job_claim, job_end
from .versions import ERROR_CANCELLED

logger = logging.getLogger(__name__)

ERROR_TOO_MANY_ATTEMPTS = "gave up after {attempts} interrupted attempts"


class EmbedCancelled(Exception):
    """An admin cancelled the job; the vectors written so far stay (each batch is complete)."""

    def __init__(self, state: EmbedProgress):
        super().__init__(f"{ERROR_CANCELLED} after {state.done} images")
        self.state = state


def _resumable_job(version: ModelVersion, only_missing: bool) -> Job:
    """The unfinished run with the same parameters, or a new one."""
    params = {"only_missing": only_missing}
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(
                kind=Job.Kind.EMBED, model_version=version, params=params, state=Job.State.RUNNING
            )
            .first()
        )
        if job is not None and job.cancel_requested:  # cancelled while no one was running it
            job_end(job=job, state=Job.State.CANCELLED, error=ERROR_CANCELLED)
            job = None
        if job is None:
            job = Job.objects.create(
                kind=Job.Kind.EMBED,
                model_version=version,
                params=params,
                state=Job.State.RUNNING,
                started_at=timezone.now(),
            )
        job.attempts += 1
        job.save(update_fields=["attempts"])
    return job


def _run(job: Job, *, batch_size: int, progress=None) -> EmbedProgress:
    """Embed what the job has not reached yet (after its cursor), then mark it succeeded."""
    cursor = job.progress.get("cursor", 0)
    version = job.model_version
    records = images_to_embed(
        version=version, only_missing=job.params["only_missing"], after_id=cursor
    )

    def record(state: EmbedProgress) -> None:
        Job.objects.filter(pk=job.pk).update(progress={**state.as_dict(), "resumed_after": cursor})
        if progress:
            progress(state)
        if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise EmbedCancelled(state)

    try:
        state = images_embed(
            version=version, records=records, batch_size=batch_size, progress=record
        )
    except EmbedCancelled:
        job_end(job=job, state=Job.State.CANCELLED, error=ERROR_CANCELLED)
        raise
    job_end(job=job, state=Job.State.SUCCEEDED)
    return state


def reembed(
    *,
    version: ModelVersion,
    only_missing: bool,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress=None,
) -> EmbedProgress:
    """Embed the catalogue's images with `version`, continuing an interrupted run if any.

    Raises EmbedCancelled when an admin cancels the run's job (the job then ends `cancelled`).
    """
    job = _resumable_job(version, only_missing)
    return _run(job, batch_size=batch_size, progress=progress)


@transaction.atomic
def reembed_request(
    *, version: ModelVersion, only_missing: bool, batch_size: int = DEFAULT_BATCH_SIZE
) -> Job:
    """Queue a re-embedding of the catalogue for the `ml` worker (enqueued after commit)."""
    from ..tasks import model_version_reembed_task  # tasks import services

    job = Job.objects.create(
        kind=Job.Kind.EMBED,
        model_version=version,
        params={"only_missing": only_missing, "batch_size": batch_size},
    )
    model_version_reembed_task.delay_on_commit(job.pk)
    return job


def embed_job_run(*, job_id: int, max_attempts: int) -> Job | None:
    """Claim a queued (or interrupted) embed job and run it; bounded attempts after crashes
    (services.jobs.job_claim)."""
    job = job_claim(job_id=job_id, kind=Job.Kind.EMBED)
    if job is None or job.is_finished:
        return job
    if job.cancel_requested:  # asked to stop before this delivery: end it, embed nothing
        return job_end(job=job, state=Job.State.CANCELLED, error=ERROR_CANCELLED)
    if job.attempts > max_attempts:
        error = ERROR_TOO_MANY_ATTEMPTS.format(attempts=max_attempts)
        return job_end(job=job, state=Job.State.FAILED, error=error)
    try:
        _run(job, batch_size=job.params.get("batch_size", DEFAULT_BATCH_SIZE))
    except EmbedCancelled:
        return job
    except (SoftTimeLimitExceeded, *DATABASE_OUTAGE):
        raise  # task policy: a time-out ends it as timed_out; an outage is retried from the cursor
    except Exception as exc:  # the job boundary: a broken run fails this job, never the version
        logger.exception("Embed job %s failed", job.pk)
        return job_end(job=job, state=Job.State.FAILED, error=f"{type(exc).__name__}: {exc}")
    return job
