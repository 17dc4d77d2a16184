"""One lifecycle for every background job row (core.jobs.protocol): claim a delivery, run the
work, end the row however it ends (succeeded, failed, cancelled, timed out).

Each kind of job subclasses JobLifecycle once, with its texts and, where it keeps more than the
row (an import's counts, a training's model version), an `end` that writes that too. Services call
`claim` then `run`; tasks call `time_out` when a time limit stops the work.
"""

from collections.abc import Callable, Iterable
from typing import Generic

from celery.exceptions import SoftTimeLimitExceeded
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..outages import DATABASE_OUTAGE
from .cancel import JobCancelled
from .delivery import delivery_claimed, delivery_holds, delivery_ran
from .ending import job_end
from .heartbeat import ClaimLost, heartbeat_claimed, heartbeat_timer
from .holders import held_elsewhere
from .protocol import J


class JobLifecycle(Generic[J]):
    """Claim, run and end the rows of one job model; subclasses set the texts and hooks."""

    model: type[models.Model]
    error_cancelled: str  # a running job stopped by an admin
    error_too_many_attempts: str  # {attempts}: the deliveries that were interrupted
    error_timed_out: str  # {seconds}: the time limit that stopped it
    timed_out_state: str  # the state a time-out ends in
    task: str  # the Celery task (its name) that runs a job: the reaper sends it again
    failures: tuple[type[Exception], ...] = ()  # what fails the job; anything else propagates
    # Whether the delivery that finds the cancel flag counts as an attempt. Each model kept what
    # it did before the lifecycles were merged (tests assert the counts).
    counts_cancelled_delivery = False

    def task_name(self, job: J) -> str:
        return self.task

    def rows(self) -> QuerySet:
        """The rows claims and time-outs read (e.g. with the relations `end` needs)."""
        return self.model.objects.all()

    def end(self, job: J, *, state: str, error: str = "", fields: Iterable[str] = ()) -> J:
        """End the job; a kind that keeps more than the row ends that too."""
        return job_end(job, state=state, error=error, fields=fields)

    def cancelled_error(self, job: J) -> str:
        return self.error_cancelled

    def failure_error(self, job: J, exc: Exception) -> str:
        return str(exc)

    def ended_without_its_work(self, job: J) -> None:
        """The job has just ended where none of its work could finish up (its attempts were
        killed): at a claim (cancelled, or past its attempts) or by a time-out outside the
        delivery that ran it (the worker parent after a hard limit, an operator). A kind whose
        work does something as it stops (an import's announcement) does it here."""

    def claim(self, job_id: int, *, max_attempts: int, **filters) -> J | None:
        """The job's row for this delivery: None if it is gone; finished if it already was, or
        once ended here (cancelled before this delivery, or interrupted more than max_attempts
        times); else running, with this delivery counted as an attempt.

        Counting before any work bounds a job whose worker dies every time (out of memory, a
        crashing decoder). The caller runs the job only if it is not finished. ClaimLost if
        another live worker runs the job (a duplicate delivery: core.jobs.holders).
        """
        job = self._lock_and_count(job_id, filters)
        if job is None or job.is_finished:
            return job
        if job.cancel_requested:  # asked to stop before this delivery: end it, do nothing
            job = self.end(job, state=self.model.State.CANCELLED, error=self.cancelled_error(job))
        elif job.attempts > max_attempts:
            error = self.error_too_many_attempts.format(attempts=job.attempts - 1)
            job = self.end(job, state=self.model.State.FAILED, error=error)
        else:
            return job
        self.ended_without_its_work(job)
        return job

    def _lock_and_count(self, job_id: int, filters: dict) -> J | None:
        # The row lock orders the claim against an admin's cancel (core.jobs.cancel).
        with transaction.atomic():
            rows = self.rows().select_for_update(of=("self",))
            job = rows.filter(pk=job_id, **filters).first()
            if job is None or job.is_finished:
                return job
            if held_elsewhere(job):
                raise ClaimLost(
                    f"{self.model._meta.label} {job.pk} is running in {job.heartbeat_worker}; "
                    "this delivery leaves it to that worker"
                )
            if job.cancel_requested and not self.counts_cancelled_delivery:
                return job
            job.attempts += 1
            job.state = self.model.State.RUNNING
            job.started_at = job.started_at or timezone.now()
            job.save(update_fields=["attempts", "state", "started_at", *heartbeat_claimed(job)])
        delivery_claimed(job)
        return job

    def run(self, job: J, work: Callable[[J], object]) -> J:
        """Run a claimed job's work and end the job by its outcome, unless the work ended it.

        JobCancelled ends it `cancelled`; one of `failures` fails it with the reason. A soft time
        limit and a database outage propagate: they are the task's policy (time out, retry); so
        does ClaimLost (stop without writing). A timer thread beats for the job while it runs.
        """
        try:
            with heartbeat_timer(job):
                work(job)
        except JobCancelled:
            if job.is_finished:
                return job
            return self.end(job, state=self.model.State.CANCELLED, error=self.cancelled_error(job))
        except (SoftTimeLimitExceeded, ClaimLost, *DATABASE_OUTAGE):
            raise
        except self.failures as exc:
            return self.end(job, state=self.model.State.FAILED, error=self.failure_error(job, exc))
        if job.is_finished:
            return job
        return self.end(job, state=self.model.State.SUCCEEDED)

    def time_out(self, job_id: int, *, seconds: float) -> J | None:
        """A time limit stopped the job: it ends with that reason, unless it already ended or,
        in a task's delivery, is no longer that delivery's (delivery.delivery_holds)."""
        job = self.rows().filter(pk=job_id).first()
        if job is None or job.is_finished or not delivery_holds(job):
            return job
        error = self.error_timed_out.format(seconds=int(seconds))
        job = self.end(job, state=self.timed_out_state, error=error)
        if not delivery_ran(job):  # a soft limit stopped the work here, through its own end
            self.ended_without_its_work(job)
        return job
