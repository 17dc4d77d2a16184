"""The Celery side of a job's lifecycle: a time limit ends the job's row instead of leaving it
`running` forever; a delivery that lost its claim (or never got it) stops quietly; the reaper
runs on beat.

The soft limit raises inside the task, which records it (run_job); the hard limit kills the worker
child, and Celery then calls on_failure in the worker *parent*. The parent must stay light (its
children fork from it; no TensorFlow), so job_time_out implementations import lazily if needed.
"""

import logging
from collections.abc import Callable

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from .heartbeat import ClaimLost

logger = logging.getLogger(__name__)


class JobTask(DjangoTask):
    """Base of a task whose first argument is a job row's id; subclasses define job_time_out."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        """End the job: its time limit of `seconds` stopped it (JobLifecycle.time_out)."""
        raise NotImplementedError

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TimeLimitExceeded) and args:
            self.job_time_out(args[0], exc.args[0] if exc.args else self.time_limit)

    def run_job(self, job_id: int, run: Callable[[], object | None], *, label: str) -> None:
        """Run the job's service; a soft time limit ends the job, a missing row is logged, and so
        is a lost claim: the job belongs to another delivery, and this message is done."""
        try:
            job = run()
        except SoftTimeLimitExceeded:
            # Per-message limits (apply_async) override the task's own.
            self.job_time_out(job_id, self.request.timelimit[1] or self.soft_time_limit)
            return
        except ClaimLost as exc:
            logger.warning("%s %s: %s", label, job_id, exc)
            return
        if job is None:
            logger.warning("%s %s no longer exists; nothing to do", label, job_id)


# No retries: during an outage this fails and the next beat runs it again; `expires` (settings)
# keeps a broker backlog of reapers from piling up.
@shared_task(ignore_result=True)
def jobs_reap_task() -> None:
    """Send jobs whose worker went silent back to their queue (core.jobs.reaper)."""
    from .reaper import jobs_reap  # imports the apps' lifecycles: not at worker start-up

    jobs_reap()
