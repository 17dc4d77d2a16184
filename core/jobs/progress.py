"""Writing a running job's progress, and checking its cancel flag at each write.

The check rides on the write because both cost a query and both need only be as fresh as the
page that shows them: a job that writes every few seconds also stops within a few seconds. So
does the job's heartbeat (core.jobs.heartbeat), written first, whenever one is due: a worker that
lost its claim stops there, before it writes anything.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from django.utils import timezone

from .cancel import JobCancelled, is_cancel_requested
from .heartbeat import Heartbeat
from .holders import heartbeat_line, stale_warning
from .protocol import JobRow

R = TypeVar("R")  # what a job reports: its row, a dict, an EmbedProgress


class ProgressWriter(Generic[R]):
    """Called with each report of a running job: beats (ClaimLost if the job is no longer this
    worker's), writes it (with `write`) every `every` units done, then raises JobCancelled if an
    admin asked the job to stop.

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
        self.heartbeat = Heartbeat.of(job)

    def __call__(self, report: R, *, done: int = 0) -> None:
        """Write `report` if `done` (units finished so far) is a multiple of `every`; callers
        that report once per unit (a batch, an epoch, a phase) leave `done` out."""
        if done % self.every:
            return
        self.heartbeat.beat(phase_of(report))
        self.write(report)
        if self.cancel_requested():
            message = self.cancelled_message(report) if self.cancelled_message else ""
            raise JobCancelled(message, payload=report)

    def cancel_requested(self) -> bool:
        """The job's flag, read fresh (for code that polls it between its own writes, such as
        training after each batch). Beats first when a beat is due, so that code also stops
        soon after losing its claim (ClaimLost), before it writes its next checkpoint."""
        self.heartbeat.beat()
        return is_cancel_requested(self.job)


def phase_of(report) -> str:
    """A report's phase as the heartbeat names it: 'training, epoch 2 of 5', '40 of 120'."""
    if isinstance(report, dict):
        parts = [report.get("phase", "")]
        if "epoch" in report:
            parts.append(f"epoch {report['epoch']} of {report.get('epochs', '?')}")
        return ", ".join(part for part in parts if part)
    for done, total in (("rows_done", "rows_total"), ("done", "total")):
        if hasattr(report, done):
            return f"{getattr(report, done)} of {getattr(report, total, '?')}"
    return ""


def live_state(job: JobRow) -> dict:
    """The keys every live job page polls (static/js/job_progress.js): the job's kind adds its
    own counts between these. `heartbeat` names the worker and the age of its last heartbeat;
    `heartbeat_warning` says why a running job looks stuck, before the reaper acts."""
    return {
        "id": job.pk,
        "state": job.state,
        "finished": job.is_finished,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "heartbeat": heartbeat_line(job),
        "heartbeat_warning": stale_warning(job),
    }


def rows_live_state(job: JobRow, *, counts: tuple[str, ...], now: datetime | None = None) -> dict:
    """live_state() of an import that works through `rows_total` lines, with its rate and ETA
    (from the lines done since it started; None until one is done), the number of problems it
    listed and its own `counts` (column names: the page updates fields of the same names).

    The rate counts this attempt's time only: a retry counts its lines from zero, and the time
    since the first attempt would include the downtime between them."""
    now = now or timezone.now()
    began = job.claimed_at or job.started_at
    elapsed = (now - began).total_seconds() if began else 0.0
    running = job.state == job.State.RUNNING
    rate = job.rows_done / elapsed if running and elapsed > 0 and job.rows_done else None
    remaining = max(job.rows_total - job.rows_done, 0)
    return {
        **live_state(job),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "rows_per_s": round(rate, 1) if rate else None,
        "eta_s": round(remaining / rate) if rate else None,
        **{name: getattr(job, name) for name in counts},
        "errors": job.row_errors.count(),
    }
