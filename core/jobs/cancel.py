"""Cancelling a background job: the row's transition, the worker's flag check and the one
exception that carries "stop now" from the check to the job's lifecycle (core.jobs.lifecycle).

A queued job that never started ends at once, `cancelled`: its worker, when the delivery comes,
finds it finished and skips it. A running one (or one queued again after an interrupted delivery)
is only flagged; its worker checks the flag between units of work (batches, rows, epochs:
core.jobs.progress) or at its next claim, and ends the job itself, because only it knows what to
keep.
"""

from typing import Any

from django.db import models
from django.utils import timezone

from .protocol import JobRow


class JobCancelled(Exception):
    """An admin cancelled the running job; the work finished before the check stays.

    `payload` is what the job had reported when it stopped (e.g. an embedding's EmbedProgress),
    for a foreground caller that shows it; the message is the text such a caller prints.
    """

    def __init__(self, message: str = "", *, payload: Any = None):
        super().__init__(message)
        self.payload = payload


def request_cancel(model: type[models.Model], pk: int, *, queued_error: str) -> JobRow:
    """The job's row after a cancel request: ended `cancelled` with `queued_error` if queued,
    flagged if running, as it was if finished. Call inside a transaction: the row lock orders
    this against the worker's claim, so either the job ends before any work or the worker has
    it and sees the flag."""
    job = model.objects.select_for_update().get(pk=pk)
    if job.is_finished:
        return job
    job.cancel_requested = True
    if job.state != model.State.QUEUED or job.attempts:
        # Running, or queued again after an interrupted delivery (which may have written
        # something): the worker's next claim ends it through the job's own end, which undoes
        # what that kind keeps (a version's status, its half-built indexes).
        job.save(update_fields=["cancel_requested"])
        return job
    job.state, job.error, job.finished_at = model.State.CANCELLED, queued_error, timezone.now()
    job.save(update_fields=["cancel_requested", "state", "error", "finished_at"])
    return job


def is_cancel_requested(job: JobRow) -> bool:
    """Whether an admin has flagged the job since it was read: always a fresh query, because the
    worker's copy of the row is older than any request made while it runs."""
    return type(job).objects.filter(pk=job.pk, cancel_requested=True).exists()
