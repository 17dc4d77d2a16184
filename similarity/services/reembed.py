"""Bulk re-embedding: resumable through an `embed` Job row holding a cursor.

Operators run it in the foreground (`manage.py reembed`) or queue it for the `ml` worker
(`reembed_request`). A worker killed mid-run leaves the job running with its cursor; the
redelivered task continues after the cursor, and every write is an upsert, so a repeated batch
never duplicates a vector.

In the foreground, Ctrl-C ends the job `cancelled` (left running, the reaper would hand it to
the `ml` worker); which job a foreground run resumes is reembed_runs'.
"""

from contextlib import suppress

from django.db import transaction

from core.jobs import ClaimLost, JobCancelled, ProgressWriter
from core.jobs.heartbeat import heartbeat_timer
from core.tasks import enqueue_on_commit

from ..models import Job, ModelVersion
from .embedding import DEFAULT_BATCH_SIZE, EmbedProgress, images_embed, images_to_embed
from .jobs import ML_JOBS
from .reembed_runs import ERROR_INTERRUPTED, ReembedRefused, resumable_job
from .versions import ERROR_CANCELLED

REEMBED_TASK = "similarity.tasks.model_version_reembed_task"

ERROR_CANCELLED_AFTER = ERROR_CANCELLED + " after {done} images"
ERROR_NOT_TRAINED = "v{pk} is {status}: only a ready, active or archived version can embed"
ERROR_BATCH_SIZE = "the batch size must be at least 1, not {size}"


def reembed_check(*, version: ModelVersion, batch_size: int) -> None:
    """Raise ReembedRefused unless `version` has a trained model and the batch size is usable."""
    if not version.is_servable:
        raise ReembedRefused(ERROR_NOT_TRAINED.format(pk=version.pk, status=version.status))
    if batch_size < 1:
        raise ReembedRefused(ERROR_BATCH_SIZE.format(size=batch_size))


def _run(job: Job, *, batch_size: int, progress=None) -> EmbedProgress:
    """Embed what the job has not reached yet (after its cursor), then mark it succeeded."""
    cursor = job.progress.get("cursor", 0)
    version = job.model_version
    records = images_to_embed(
        version=version, only_missing=job.params["only_missing"], after_id=cursor
    )

    def write(state: EmbedProgress) -> None:
        Job.objects.filter(pk=job.pk).update(progress={**state.as_dict(), "resumed_after": cursor})
        if progress:
            progress(state)

    # After each batch: the vectors written so far stay (every batch is complete).
    report = ProgressWriter(
        job,
        write=write,
        cancelled_message=lambda state: ERROR_CANCELLED_AFTER.format(done=state.done),
    )
    try:
        state = images_embed(
            version=version, records=records, batch_size=batch_size, progress=report
        )
    except JobCancelled:
        ML_JOBS.end(job, state=Job.State.CANCELLED, error=ERROR_CANCELLED)
        raise
    ML_JOBS.end(job, state=Job.State.SUCCEEDED)
    return state


def reembed(
    *,
    version: ModelVersion,
    only_missing: bool,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress=None,
    end_failed_on_error: bool = False,
) -> EmbedProgress:
    """Embed the catalogue's images with `version`, continuing an interrupted run if any.

    Raises ReembedRefused before any job is claimed (see reembed_check; or another live process
    runs this run's job), and JobCancelled (its payload: the EmbedProgress so far) when an admin
    cancels the run's job; the job then ends `cancelled`, as it does on KeyboardInterrupt
    (Ctrl-C, re-raised). Any other exception propagates: with end_failed_on_error (a caller that
    gives up on the run) the job ends `failed` first, else it stays running with its cursor for
    the next run or the reaper's requeue to resume.
    """
    reembed_check(version=version, batch_size=batch_size)
    job = resumable_job(version=version, only_missing=only_missing)
    try:
        # Beats between progress writes, as on the worker: a batch slower than the reaper's
        # silence limit would hand the job to the ml worker under the running command.
        with heartbeat_timer(job):
            return _run(job, batch_size=batch_size, progress=progress)
    except JobCancelled:
        raise
    except KeyboardInterrupt:
        # Left running, the job would go to the ml worker at the reaper's next pass, behind the
        # back of an operator who stopped it; the rerun continues after its cursor instead.
        if not job.is_finished:
            with suppress(ClaimLost):  # the reaper gave it away meanwhile: it is not ours
                ML_JOBS.end(job, state=Job.State.CANCELLED, error=ERROR_INTERRUPTED)
        raise
    except Exception as exc:
        if end_failed_on_error:
            ML_JOBS.end(job, state=Job.State.FAILED, error=ML_JOBS.failure_error(job, exc))
        raise


@transaction.atomic
def reembed_request(
    *, version: ModelVersion, only_missing: bool, batch_size: int = DEFAULT_BATCH_SIZE
) -> Job:
    """Queue a re-embedding of the catalogue for the `ml` worker (enqueued after commit);
    raises ReembedRefused as reembed() does."""
    reembed_check(version=version, batch_size=batch_size)
    job = Job.objects.create(
        kind=Job.Kind.EMBED,
        model_version=version,
        params={"only_missing": only_missing, "batch_size": batch_size},
    )
    enqueue_on_commit(REEMBED_TASK, job.pk)
    return job


def embed_job_run(*, job_id: int, max_attempts: int) -> Job | None:
    """Claim a queued (or interrupted) embed job and run it; bounded attempts after crashes
    (core.jobs.JobLifecycle.claim). A run that raises fails this job, never the version."""
    job = ML_JOBS.claim(job_id, max_attempts=max_attempts, kind=Job.Kind.EMBED)
    if job is None or job.is_finished:
        return job
    batch_size = job.params.get("batch_size", DEFAULT_BATCH_SIZE)
    return ML_JOBS.run(job, lambda job: _run(job, batch_size=batch_size))
