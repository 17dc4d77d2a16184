"""The lifecycle of training and embedding jobs (core.jobs.JobLifecycle for similarity.Job).

A training job that ends other than `succeeded` also fails its model version, unless that version
was built to the end (ready, active or archived); an embedding job never touches its version. No
TensorFlow here: the Celery worker *parent* records hard time limits (tasks.MlJobTask) and must
never import TensorFlow, because its children are forked from it.
"""

import logging
from collections.abc import Iterable

from django.db.models import QuerySet

from core.jobs import JobLifecycle, job_end

from .. import vector_store
from ..models import Job, ModelVersion
from .versions import ERROR_CANCELLED, TRAIN_TASK

logger = logging.getLogger(__name__)

ERROR_TIMED_OUT = "timed out after {seconds} s"
ERROR_TOO_MANY_ATTEMPTS = "gave up after {attempts} interrupted attempts"
EMBED_TASK = "similarity.tasks.model_version_reembed_task"  # what services.reembed queues


class MlJobLifecycle(JobLifecycle[Job]):
    """Any exception fails the job (this is its boundary): a broken run must end its row, never
    the worker or the serving version. A time limit ends it `timed_out`."""

    model = Job
    error_cancelled = ERROR_CANCELLED
    error_too_many_attempts = ERROR_TOO_MANY_ATTEMPTS
    error_timed_out = ERROR_TIMED_OUT
    timed_out_state = Job.State.TIMED_OUT
    failures = (Exception,)

    def task_name(self, job: Job) -> str:
        return TRAIN_TASK if job.kind == Job.Kind.TRAIN else EMBED_TASK

    def rows(self) -> QuerySet:
        return Job.objects.select_related("model_version")

    def end(self, job: Job, *, state: str, error: str = "", fields: Iterable[str] = ()) -> Job:
        job_end(job, state=state, error=error, fields=fields)
        if job.kind == Job.Kind.TRAIN and state != Job.State.SUCCEEDED:
            _version_fail(job.model_version, error=job.error)
        return job

    def failure_error(self, job: Job, exc: Exception) -> str:
        logger.exception("%s failed", job)
        return f"{type(exc).__name__}: {exc}"


ML_JOBS = MlJobLifecycle()


# A version in one of these was built to the end: a job that ends badly after that (its worker
# died before ending it and it was given up, a time limit during its auto-activation) must not
# throw hours of training away.
BUILT = {ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.ARCHIVED}


def _version_fail(version: ModelVersion | None, *, error: str) -> None:
    """The version of a training that ended badly fails (unless it was built to the end) and
    loses its indexes: a half-built index is never left behind."""
    if version is None or version.status in BUILT:
        return
    vector_store.version_indexes_drop(version=version)
    version.status, version.error = ModelVersion.Status.FAILED, error
    version.save(update_fields=["status", "error"])


def job_time_out(*, job_id: int, seconds: float) -> Job | None:
    """Record that a time limit ended this job; a training job also fails its version."""
    return ML_JOBS.time_out(job_id, seconds=seconds)
