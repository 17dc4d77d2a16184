"""The reaper: jobs whose worker went silent go back to a worker, exactly once.

A worker that dies whole (parent and children, or its machine) leaves its job `running` and its
message unacknowledged in the broker until the visibility timeout (hours); a task whose outage
retries ran out leaves the job `running` for ever; a message lost with a broker leaves the job
`queued` for ever. The reaper, on Celery beat, finds such jobs by their silence and sends each
again through the same path a killed pool child takes: the new delivery claims the job (its
attempt counter bounds the work: a job that keeps dying ends `failed` with the reason) and
resumes from the job's cursor or checkpoint.

Each requeue is a compare-and-set under a row lock: the row goes back to `queued` only if it is
still the silent row the reaper read (same state, attempt and heartbeat), so two reapers, or a
reaper and a worker waking up, never both win; the loser's requeue does nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from ..tasks import enqueue_on_commit
from .holders import silence_s
from .lifecycle import JobLifecycle

logger = logging.getLogger(__name__)

PHASE_REQUEUED = "requeued by the reaper after {silence} s without a heartbeat"
PHASE_RESENT = "sent again by the reaper after {silence} s queued"


@dataclass(frozen=True)
class Reaped:
    """A job the reaper sent back to its queue (or, in a dry run, would send)."""

    job: str  # "catalog.ImportJob 12"
    state: str  # what it was: running or queued
    silence_s: int
    worker: str  # the last heartbeat's host:pid, "" if none
    task: str

    def __str__(self) -> str:
        worker = f" (last worker {self.worker})" if self.worker else ""
        return f"{self.job}: {self.state}, silent {self.silence_s} s{worker} -> {self.task}"


def lifecycles() -> list[JobLifecycle]:
    """Every kind of job, as settings.PRODSIM_JOB_LIFECYCLES names them (apps sit above core)."""
    return [import_string(path) for path in settings.PRODSIM_JOB_LIFECYCLES]


def silent_jobs(lifecycle: JobLifecycle, *, now: datetime | None = None) -> QuerySet:
    """Running jobs silent for PRODSIM_JOB_STALE_S, queued ones for PRODSIM_JOB_QUEUED_STALE_S."""
    now = now or timezone.now()
    state = lifecycle.model.State
    running_since = now - timedelta(seconds=settings.PRODSIM_JOB_STALE_S)
    queued_since = now - timedelta(seconds=settings.PRODSIM_JOB_QUEUED_STALE_S)
    return (
        lifecycle.rows()
        .annotate(last_sign=Coalesce("heartbeat_at", "started_at", "created_at"))
        .filter(
            Q(state=state.RUNNING, last_sign__lt=running_since)
            | Q(state=state.QUEUED, last_sign__lt=queued_since)
        )
        .order_by("pk")
    )


def jobs_reap(*, dry_run: bool = False) -> list[Reaped]:
    """Send every silent job back to its queue once; what was (or, dry, would be) sent."""
    reaped = []
    for lifecycle in lifecycles():
        for job in silent_jobs(lifecycle):
            result = _describe(lifecycle, job) if dry_run else job_requeue(lifecycle, job)
            if result is not None:
                reaped.append(result)
    return reaped


def job_requeue(lifecycle: JobLifecycle, seen) -> Reaped | None:
    """Put the job back on its queue if it is still the silent row `seen`; None if someone else
    (another reaper, its worker waking up, an admin) changed it since."""
    state = lifecycle.model.State
    with transaction.atomic():
        rows = lifecycle.rows().select_for_update(skip_locked=True, of=("self",))
        job = rows.filter(
            pk=seen.pk, state=seen.state, attempts=seen.attempts, heartbeat_at=seen.heartbeat_at
        ).first()
        if job is None:
            return None
        reaped = _describe(lifecycle, job)
        phase = PHASE_REQUEUED if job.state == state.RUNNING else PHASE_RESENT
        # The last worker's name stays on the row for the admin; the time restarts the clock.
        job.state, job.heartbeat_at = state.QUEUED, timezone.now()
        job.heartbeat_phase = phase.format(silence=reaped.silence_s)
        job.save(update_fields=["state", "heartbeat_at", "heartbeat_phase"])
        enqueue_on_commit(reaped.task, job.pk)
    logger.warning("reaper: %s", reaped)
    return reaped


def _describe(lifecycle: JobLifecycle, job) -> Reaped:
    return Reaped(
        job=f"{job._meta.label} {job.pk}",
        state=job.state,
        silence_s=round(silence_s(job) or 0),
        worker=job.heartbeat_worker,
        task=lifecycle.task_name(job),
    )
