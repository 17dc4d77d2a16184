"""How a training or embedding job ends badly: failed, cancelled or timed out.

No TensorFlow here: the Celery worker *parent* records hard time limits (tasks.JobTask) and must
never import TensorFlow, because its children are forked from it.
"""

from django.db import transaction
from django.utils import timezone

from .. import vector_store
from ..models import Job, ModelVersion

ERROR_TIMED_OUT = "timed out after {seconds} s"


def job_claim(*, job_id: int, kind: str) -> Job | None:
    """Lock the job for this delivery, count one attempt and mark it running.

    A finished job, or one cancelled before this delivery, comes back unclaimed for the caller
    to leave or end. Counting before any work bounds a job whose worker dies every time (out of
    memory, a crashing decoder): the caller fails it once attempts exceed its limit.
    """
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(of=("self",))
            .select_related("model_version")
            .filter(pk=job_id, kind=kind)
            .first()
        )
        if job is None or job.is_finished or job.cancel_requested:
            return job
        job.attempts += 1
        job.state = Job.State.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["attempts", "state", "started_at"])
    return job


def job_end(*, job: Job, state: str, error: str = "") -> Job:
    """Record how the job ended (the row only; job_fail also fails a training's version)."""
    job.state, job.error, job.finished_at = state, error[:5000], timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])
    return job


def job_fail(*, job: Job, error: str, state: str = Job.State.FAILED) -> Job:
    """End the job; its version (unless it is the serving one) fails and loses its indexes."""
    job_end(job=job, state=state, error=error)
    version = job.model_version
    if version is not None and version.status != ModelVersion.Status.ACTIVE:
        vector_store.version_indexes_drop(version=version)  # never leave a half-built index
        version.status, version.error = ModelVersion.Status.FAILED, error[:5000]
        version.save(update_fields=["status", "error"])
    return job


def job_time_out(*, job_id: int, seconds: float) -> Job | None:
    """Record that a time limit ended this job; a training job also fails its version."""
    job = Job.objects.filter(pk=job_id).select_related("model_version").first()
    if job is None or job.is_finished:
        return job
    error = ERROR_TIMED_OUT.format(seconds=int(seconds))
    if job.kind == Job.Kind.TRAIN:
        return job_fail(job=job, error=error, state=Job.State.TIMED_OUT)
    return job_end(job=job, state=Job.State.TIMED_OUT, error=error)
