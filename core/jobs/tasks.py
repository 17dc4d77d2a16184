"""The Celery side of a job's lifecycle: a time limit ends the job's row instead of leaving it
`running` forever; a delivery that lost its claim (or never got it) stops quietly; the reaper
runs on beat.

The soft limit raises inside the task, which records it (run_job); the hard limit kills the worker
child, and Celery then calls on_failure in the worker *parent*. The parent must stay light (its
children fork from it; no TensorFlow), so job_time_out implementations import lazily if needed.

Either way the time-out ends only the claim of the delivery the limit stopped (job_delivery): the
soft limit knows the attempt its delivery counted; the parent knows the child it timed out, whose
host:pid the row's heartbeat names while the claim is that child's.

A database outage propagates to Celery's retry (core.outages): the retried message carries the
claims this one made (a header), so the retry may resume the job it held while the row still
shows that claim, and leaves it to whoever the reaper gave it to otherwise (core.jobs.holders).
"""

import logging
import socket
import weakref
from collections.abc import Callable
from contextlib import nullcontext

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_received

from ..outages import DATABASE_OUTAGE
from .delivery import job_delivery
from .heartbeat import ClaimLost

logger = logging.getLogger(__name__)

# The retry's header naming the claims an earlier delivery of the message made
# ({"catalog.ImportJob:12": 3}); Celery copies a request's custom headers into its retry.
CLAIMS_HEADER = "prodsim_job_claims"


# The worker parent's requests by task id: the hard limit's on_failure gets only the id, and the
# request (alive while its time-out is handled) names the child that ran it.
_requests: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


@task_received.connect
def _remember_request(sender=None, request=None, **kwargs) -> None:
    if request is not None:
        _requests[request.id] = request


def _child_worker(task_id: str) -> str:
    """host:pid of the pool child that ran the task (as heartbeat.worker_name), "" if unknown."""
    request = _requests.get(task_id)
    pid = getattr(request, "worker_pid", None)
    return f"{socket.gethostname()}:{pid}"[:200] if pid else ""


class JobTask(DjangoTask):
    """Base of a task whose first argument is a job row's id; subclasses define job_time_out."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        """End the job: its time limit of `seconds` stopped it (JobLifecycle.time_out)."""
        raise NotImplementedError

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TimeLimitExceeded) and args:
            seconds = exc.args[0] if exc.args else self.time_limit
            worker = _child_worker(task_id)
            # A child not known here (no request seen): end the job rather than leave it running.
            with job_delivery(worker=worker) if worker else nullcontext():
                self.job_time_out(args[0], seconds)

    def run_job(self, job_id: int, run: Callable[[], object | None], *, label: str) -> None:
        """Run the job's service; a soft time limit ends the job, a missing row is logged, and so
        is a lost claim: the job belongs to another delivery, and this message is done. An outage
        propagates to the task's retry, which carries this message's claims (CLAIMS_HEADER)."""
        headers = self.request.headers or {}
        try:
            with job_delivery(inherited=headers.get(CLAIMS_HEADER)) as delivery:
                try:
                    job = run()
                except SoftTimeLimitExceeded:
                    # Per-message limits (apply_async) override the task's own.
                    self.job_time_out(job_id, self.request.timelimit[1] or self.soft_time_limit)
                    return
                except DATABASE_OUTAGE:
                    # Celery's retry is built from this request: its headers travel with it.
                    self.request.headers = {**headers, CLAIMS_HEADER: delivery.claims()}
                    raise
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


@shared_task(ignore_result=True)
def generations_replay_task() -> None:
    """Replace the cache generations Valkey missed while unreachable (core.generations)."""
    from ..generations import missed_replay

    missed_replay()
