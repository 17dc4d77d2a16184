"""Which task delivery holds a job: so that a time limit ends only the attempt it stopped.

After the reaper has handed a silent job to a new delivery, the old delivery's time limit may
still fire; it must not end the new attempt's job (nor, for an event import, delete the file that
attempt reads). core.jobs.tasks opens a delivery around each run and each hard-limit handler.
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
    it. A time limit of this delivery ends a row only while the row is still that claim's."""

    worker: str = ""
    attempts: dict[tuple[str, int], int] = field(default_factory=dict)


_delivery: ContextVar[Delivery | None] = ContextVar("job_delivery", default=None)


@contextmanager
def job_delivery(*, worker: str = "") -> Iterator[Delivery]:
    """Record the claims made in the block (JobLifecycle.claim), so that a time-out in it ends
    only what this delivery holds (JobLifecycle.time_out)."""
    token = _delivery.set(Delivery(worker=worker))
    try:
        yield _delivery.get()
    finally:
        _delivery.reset(token)


def delivery_claimed(job) -> None:
    """The current delivery (if any) claimed the job at its attempt."""
    delivery = _delivery.get()
    if delivery is not None:
        delivery.attempts[(job._meta.label, job.pk)] = job.attempts


def delivery_holds(job) -> bool:
    """Whether a time-out may end the job: outside a delivery (an operator's call) yes; in one,
    while the row is running at the attempt it claimed or, in the parent, by its child."""
    delivery = _delivery.get()
    if delivery is None:
        return True
    attempt = delivery.attempts.get((job._meta.label, job.pk))
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
