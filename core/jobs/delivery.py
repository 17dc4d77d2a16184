"""Which task delivery holds a job: so that a time limit ends only the attempt it stopped, and
an outage retry takes back only the claim its message made.

After the reaper has handed a silent job to a new delivery, the old delivery's time limit may
still fire; it must not end the new attempt's job (nor, for an event import, delete the file that
attempt reads). Likewise the old delivery's outage retry, sent again later with the claims its
message made (`inherited`), may resume the job only while the row is still at that claim.
core.jobs.tasks opens a delivery around each run and each hard-limit handler.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    """What one task delivery holds: the attempt it counted per row it claimed, or (in the worker
    parent, after a hard time limit) the host:pid of the child that ran it, as heartbeats write
    it. A time limit of this delivery ends a row only while the row is still that claim's.

    `inherited`: the claims that earlier deliveries of the same message made (an outage retry
    carries them, core.jobs.tasks); keys as `attempts`, "app.Model:pk"."""

    worker: str = ""
    attempts: dict[str, int] = field(default_factory=dict)
    inherited: dict[str, int] = field(default_factory=dict)

    def claims(self) -> dict[str, int]:
        """Every claim this message has made so far, the latest per row (for its retry)."""
        return {**self.inherited, **self.attempts}


_delivery: ContextVar[Delivery | None] = ContextVar("job_delivery", default=None)


@contextmanager
def job_delivery(*, worker: str = "", inherited: dict | None = None) -> Iterator[Delivery]:
    """Record the claims made in the block (JobLifecycle.claim), so that a time-out in it ends
    only what this delivery holds (JobLifecycle.time_out)."""
    token = _delivery.set(Delivery(worker=worker, inherited=dict(inherited or {})))
    try:
        yield _delivery.get()
    finally:
        _delivery.reset(token)


def delivery_claimed(job) -> None:
    """The current delivery (if any) claimed the job at its attempt."""
    delivery = _delivery.get()
    if delivery is not None:
        delivery.attempts[claim_key(job)] = job.attempts


def claim_key(job) -> str:
    """The row a claim is on, as a message header can carry it: "catalog.ImportJob:12"."""
    return f"{job._meta.label}:{job.pk}"


def delivery_ran(job) -> bool:
    """Whether the current delivery claimed the job at the row's attempt, so ran its work here
    (and whatever the work does when it stops, such as an import's announcement)."""
    delivery = _delivery.get()
    return delivery is not None and delivery.attempts.get(claim_key(job)) == job.attempts


def delivery_reclaims(job) -> bool:
    """Whether the row still shows the claim that an earlier delivery of this message made: an
    outage retry of the task that holds the job, not another worker's delivery. The reaper's
    requeue leaves the attempt as it is, but the next claim counts one more, so a worker that
    took the job over since is never mistaken for this message."""
    delivery = _delivery.get()
    if delivery is None:
        return False
    return delivery.inherited.get(claim_key(job)) == job.attempts


def delivery_holds(job) -> bool:
    """Whether a time-out may end the job: outside a delivery (an operator's call) yes; in one,
    while the row is running at the attempt it claimed or, in the parent, by its child."""
    delivery = _delivery.get()
    if delivery is None:
        return True
    attempt = delivery.attempts.get(claim_key(job))
    if attempt is not None:
        held = job.attempts == attempt
    else:
        held = bool(delivery.worker) and job.heartbeat_worker == delivery.worker
    if not (held and job.state == type(job).State.RUNNING):
        logger.warning(
            "%s %s: the time limit stopped a delivery that no longer holds it (%s, attempt %s)",
            job._meta.label,
            job.pk,
            job.state,
            job.attempts,
        )
        return False
    return True
