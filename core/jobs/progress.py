"""Writing a running job's progress, and checking its cancel flag at each write.

The check rides on the write because both cost a query and both need only be as fresh as the
page that shows them: a job that writes every few seconds also stops within a few seconds.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

from .cancel import JobCancelled, is_cancel_requested
from .protocol import JobRow

R = TypeVar("R")  # what a job reports: its row, a dict, an EmbedProgress


class ProgressWriter(Generic[R]):
    """Called with each report of a running job: writes it (with `write`) every `every` units
    done, then raises JobCancelled if an admin asked the job to stop.

    `cancelled_message(report)` is the exception's text, for a foreground caller that prints it;
    the report itself travels as the exception's payload.
    """

    def __init__(
        self,
        job: JobRow,
        *,
        write: Callable[[R], object],
        every: int = 1,
        cancelled_message: Callable[[R], str] | None = None,
    ):
        self.job = job
        self.write = write
        self.every = every
        self.cancelled_message = cancelled_message

    def __call__(self, report: R, *, done: int = 0) -> None:
        """Write `report` if `done` (units finished so far) is a multiple of `every`; callers
        that report once per unit (a batch, an epoch, a phase) leave `done` out."""
        if done % self.every:
            return
        self.write(report)
        if self.cancel_requested():
            message = self.cancelled_message(report) if self.cancelled_message else ""
            raise JobCancelled(message, payload=report)

    def cancel_requested(self) -> bool:
        """The job's flag, read fresh (for code that polls it between its own writes)."""
        return is_cancel_requested(self.job)


def live_state(job: JobRow) -> dict:
    """The keys every live job page polls (static/js/job_progress.js): the job's kind adds its
    own counts between these."""
    return {
        "id": job.pk,
        "state": job.state,
        "finished": job.is_finished,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
    }
