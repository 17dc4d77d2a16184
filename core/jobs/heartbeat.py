"""A running job's heartbeat: proof of life in its row, and the claim check that stops a worker
that lost its job to another delivery.

A claim is the row's attempt number: each delivery that begins the work increments it
(core.jobs.lifecycle), so a worker owns the job while the row is `running` at its attempt. Every
heartbeat is a compare-and-set on that pair: it writes time, worker and phase only while the row
is still this worker's, and otherwise raises ClaimLost. The reaper (core.jobs.reaper) gave the
job to a new delivery while this worker was paused or cut off; anything it wrote now would
overwrite the new owner's progress.

Heartbeats ride on the progress writes (core.jobs.progress) and, for units of work longer than
the interval (a training epoch), on a timer thread that runs beside the job (heartbeat_timer).
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..outages import DATABASE_OUTAGE
from .protocol import JobRow

logger = logging.getLogger(__name__)

PHASE_MAX_CHARS = 100  # HeartbeatFields.heartbeat_phase
# A beat is written once this share of the interval has passed and the timer looks four times
# per interval, so the row's heartbeat is never older than the interval while the worker lives.
DUE_SHARE = 0.75
TIMER_LOOKS_PER_INTERVAL = 4


class ClaimLost(Exception):
    """This worker no longer owns the job (another delivery claimed it, or another worker runs
    it): stop without writing. The lifecycle lets it through; the task logs it and acks."""


def worker_name() -> str:
    """host:pid of this process, as heartbeats record it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_claimed(job: JobRow) -> list[str]:
    """Set the heartbeat of a job this process has just claimed (its first: the reaper times the
    job's silence from here) and return the fields to save with the claim."""
    job.heartbeat_at, job.heartbeat_worker = timezone.now(), worker_name()[:200]
    job.claimed_at, job.heartbeat_phase = job.heartbeat_at, "claimed"
    return ["claimed_at", "heartbeat_at", "heartbeat_worker", "heartbeat_phase"]


class Heartbeat:
    """The heartbeat of one claim (a job row at one attempt), shared by the job's progress
    writes and its timer thread (Heartbeat.of)."""

    _active: dict[tuple, "Heartbeat"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, job: JobRow):
        self.model = type(job)
        self.pk = job.pk
        self.attempt = job.attempts
        self.interval = float(settings.PRODSIM_JOB_HEARTBEAT_S)
        self.phase = ""
        self.lost = False
        self._last_beat = float("-inf")  # time.monotonic() of the last beat written
        self._lock = threading.Lock()

    @classmethod
    def of(cls, job: JobRow) -> "Heartbeat":
        """The heartbeat of the job's current claim: the one its timer runs, if any."""
        key = (type(job), job.pk, job.attempts)
        with cls._registry_lock:
            return cls._active.get(key) or cls(job)

    def beat(self, phase: str | None = None, *, force: bool = False) -> None:
        """Write the heartbeat if one is due (or `force`); ClaimLost if the job is no longer
        this worker's. `phase` is kept for this and later beats."""
        if phase:
            self.phase = phase[:PHASE_MAX_CHARS]
        if self.lost:
            raise ClaimLost(self._lost_message())
        if (force or self.due()) and not self.write():
            self.lost = True
            raise ClaimLost(self._lost_message())

    def due(self) -> bool:
        return time.monotonic() - self._last_beat >= self.interval * DUE_SHARE

    def write(self) -> bool:
        """Write the heartbeat if the job is still this claim's; whether it was."""
        with self._lock:
            claim = self.model.objects.filter(
                pk=self.pk, attempts=self.attempt, state=self.model.State.RUNNING
            )
            written = claim.update(
                heartbeat_at=timezone.now(),
                heartbeat_worker=worker_name()[:200],
                heartbeat_phase=self.phase,
            )
            if written:
                self._last_beat = time.monotonic()
            return bool(written)

    def _lost_message(self) -> str:
        return (
            f"{self.model._meta.label} {self.pk}: attempt {self.attempt} lost its claim "
            "(the job was given to another delivery); stopping without writing"
        )


@contextmanager
def heartbeat_timer(job: JobRow) -> Iterator[Heartbeat]:
    """Beat for the job from a thread while the block runs, so a unit of work longer than the
    interval keeps the job alive; the block's own beats (progress writes) share it."""
    heartbeat = Heartbeat.of(job)
    key = (heartbeat.model, heartbeat.pk, heartbeat.attempt)
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_until, args=(heartbeat, stop), name=f"heartbeat-{job.pk}", daemon=True
    )
    with Heartbeat._registry_lock:
        Heartbeat._active[key] = heartbeat
    thread.start()
    try:
        yield heartbeat
    finally:
        stop.set()
        thread.join()
        with Heartbeat._registry_lock:
            Heartbeat._active.pop(key, None)


def _beat_until(heartbeat: Heartbeat, stop: threading.Event) -> None:
    try:
        while not stop.wait(heartbeat.interval / TIMER_LOOKS_PER_INTERVAL):
            try:
                if heartbeat.due() and not heartbeat.write():
                    # The job's own thread decides at its next progress write, which beats
                    # again on its own connection (this one cannot see a transaction the job
                    # thread has open, so it is not the judge).
                    return
            except DATABASE_OUTAGE as exc:
                # The task handles the outage; this thread reconnects at its next look.
                logger.warning("heartbeat of job %s not written: %s", heartbeat.pk, exc)
                connection.close()
    finally:
        connection.close()  # this thread's own connection
