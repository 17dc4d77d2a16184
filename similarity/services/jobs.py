"""How a training or embedding job ends badly: failed, cancelled or timed out.

No TensorFlow here: the Celery worker *parent* records hard time limits (tasks.JobTask) and must
never import TensorFlow, because its children are forked from it.
"""

from django.utils import timezone

from .. import vector_store
from ..models import Job, ModelVersion

ERROR_TIMED_OUT = "timed out after {seconds} s"


def job_fail(*, job: Job, error: str, state: str = Job.State.FAILED) -> Job:
    """End the job; its version (unless it is the serving one) fails and loses its indexes."""
    job.state, job.error, job.finished_at = state, error[:5000], timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])
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
    job.state, job.error, job.finished_at = Job.State.TIMED_OUT, error, timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])
    return job
