"""Which job a foreground re-embedding (services.reembed.reembed) runs: the unfinished one of the
same parameters, or a new one; never one that another live process runs.

Ctrl-C ends the command's job `cancelled` (ERROR_INTERRUPTED), an error or a time limit `failed`
or `timed_out`: a new run of the same parameters continues after its cursor. A command whose
process died leaves its job `running`, and the reaper queues it again for the `ml` worker after
PRODSIM_JOB_STALE_S: a rerun resumes it, and the worker's delivery then leaves it to the rerun
(core.jobs.holders); once the worker has claimed it, the rerun is refused instead of running a
second copy beside it.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.jobs.heartbeat import heartbeat_claimed
from core.jobs.holders import held_elsewhere

from ..models import Job, ModelVersion
from .jobs import ML_JOBS
from .versions import ERROR_CANCELLED

ERROR_INTERRUPTED = (
    "interrupted by Ctrl-C in manage.py reembed; the vectors written until then stay"
)
ERROR_RUNNING_ELSEWHERE = (
    "the re-embedding job #{pk} of v{version} is running in {worker} and continues there "
    "(follow or cancel it on its admin page)"
)


class ReembedRefused(ValueError):
    """The run cannot start (the message says why); no job was created or claimed."""


def resumable_job(*, version: ModelVersion, only_missing: bool) -> Job:
    """The unfinished run with the same parameters, claimed by this process, or a new one
    (continuing after the cursor of a run that Ctrl-C stopped). ReembedRefused while another
    live process runs it."""
    params = {"only_missing": only_missing}
    with transaction.atomic():
        job = _unfinished_job(version, params)
        if job is not None and held_elsewhere(job):
            worker = job.heartbeat_worker
            error = ERROR_RUNNING_ELSEWHERE.format(pk=job.pk, version=version.pk, worker=worker)
            raise ReembedRefused(error)
        if job is not None and job.cancel_requested:  # cancelled while no one was running it
            ML_JOBS.end(job, state=Job.State.CANCELLED, error=ERROR_CANCELLED)
            job = None
        if job is None:
            job = Job.objects.create(
                kind=Job.Kind.EMBED,
                model_version=version,
                params=params,
                progress=_interrupted_cursor(version, params),
                state=Job.State.RUNNING,
                started_at=timezone.now(),
            )
        job.attempts += 1
        job.state = Job.State.RUNNING
        # The heartbeat names this process: a delivery of the reaper's message leaves it here.
        job.save(update_fields=["attempts", "state", *heartbeat_claimed(job)])
    return job


def _unfinished_job(version: ModelVersion, params: dict) -> Job | None:
    """The latest run of these parameters left running (its process died, or still runs), or
    queued again by the reaper (attempts > 0) after its process went silent; locked."""
    resumable = Q(state=Job.State.RUNNING) | Q(state=Job.State.QUEUED, attempts__gt=0)
    runs = Job.objects.select_for_update().filter(
        resumable, kind=Job.Kind.EMBED, model_version=version, params=params
    )
    return runs.order_by("-pk").first()


def _interrupted_cursor(version: ModelVersion, params: dict) -> dict:
    """A new run's progress: after the cursor of the last run of these parameters if Ctrl-C,
    an error (a database outage hours in) or a time limit stopped it, so that "an interrupted
    run continues where it stopped" holds for them too; the vectors written stay valid. An
    admin's cancel or a finished run starts afresh."""
    last = (
        Job.objects.filter(kind=Job.Kind.EMBED, model_version=version, params=params)
        .order_by("-pk")
        .first()
    )
    if last is None or not _interrupted(last):
        return {}
    return {"cursor": last.progress.get("cursor", 0)}


def _interrupted(job: Job) -> bool:
    if job.state == Job.State.CANCELLED:
        return job.error == ERROR_INTERRUPTED
    return job.state in {Job.State.FAILED, Job.State.TIMED_OUT}
