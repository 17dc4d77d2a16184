"""Ending a job's row: the one write every end makes (JobLifecycle.end, a foreground command's
own end), guarded by the claim the caller holds."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from .heartbeat import ClaimLost
from .protocol import J

ERROR_MAX_CHARS = 5000  # an exception's text can be huge (a whole SQL statement); the start says it


def job_end(job: J, *, state: str, error: str = "", fields: Iterable[str] = ()) -> J:
    """Record how the job ended. Only these columns are written, never the whole row: this copy's
    cancel_requested (and the progress that a writer updates in place) may be older than the
    database's.

    Only the claim that this copy holds may end the job: ClaimLost if the row has moved on to
    another attempt or has ended already (core.jobs.heartbeat)."""
    model = type(job)
    # A copy read `running` holds a claim, which the reaper's requeue (back to `queued`) revokes.
    states = [model.State.RUNNING]
    if job.state == model.State.QUEUED:
        states.append(model.State.QUEUED)
    with transaction.atomic():
        claim = model.objects.select_for_update().filter(
            pk=job.pk, attempts=job.attempts, state__in=states
        )
        if not claim.values_list("pk", flat=True):
            raise ClaimLost(f"{model._meta.label} {job.pk}: attempt {job.attempts} may not end it")
        job.state, job.error, job.finished_at = state, error[:ERROR_MAX_CHARS], timezone.now()
        job.save(update_fields=["state", "error", "finished_at", *fields])
    return job
