"""Who holds a running job, read from its heartbeat: how old the last sign of life is, whether
the holder is still alive (a new delivery then leaves the job to it), and the admin's line.
"""

import os
import socket
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .delivery import delivery_reclaims
from .heartbeat import worker_name
from .protocol import JobRow


def last_sign_of_life(job: JobRow) -> datetime | None:
    """The job's last heartbeat; for a row that never wrote one, when it started (or was
    created, while queued)."""
    return job.heartbeat_at or job.started_at or getattr(job, "created_at", None)


def silence_s(job: JobRow, *, now: datetime | None = None) -> float | None:
    """Seconds since the job's last sign of life."""
    last = last_sign_of_life(job)
    if last is None:
        return None
    return max(((now or timezone.now()) - last).total_seconds(), 0.0)


def held_elsewhere(job: JobRow) -> bool:
    """Whether another live process runs this job, so a new delivery must leave it alone.

    True while the row is `running` with a heartbeat fresher than the reaper's timeout, written
    by another process that is not known to be dead. Not for an outage retry of the task whose
    claim the row still shows (the holder is this message, perhaps in another pool child), nor
    when the holder is a process of this host that has died (a pool child killed mid-job: its
    message comes straight back). A retry whose claim the reaper gave away is a new delivery.
    """
    if job.state != type(job).State.RUNNING or job.heartbeat_at is None:
        return False
    if silence_s(job) > settings.PRODSIM_JOB_STALE_S or delivery_reclaims(job):
        return False
    holder = job.heartbeat_worker
    if holder == worker_name():
        return False
    host, _, pid = holder.rpartition(":")
    return not (host == socket.gethostname() and pid.isdigit() and _process_gone(int(pid)))


def _process_gone(pid: int) -> bool:
    """Whether no live process has this pid (a killed child stays a zombie until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel, which counts zombies as alive
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def heartbeat_line(job: JobRow, *, now: datetime | None = None) -> str:
    """'worker vm:1234, 12 s ago (training, epoch 2 of 5)'; '' before any heartbeat."""
    if job.heartbeat_at is None:
        return ""
    age = round(silence_s(job, now=now))
    who = f"worker {job.heartbeat_worker}" if job.heartbeat_worker else "no worker"
    phase = f" ({job.heartbeat_phase})" if job.heartbeat_phase else ""
    return f"{who}, {age} s ago{phase}"


def stale_warning(job: JobRow, *, now: datetime | None = None) -> str:
    """Why a running job looks stuck, shown before the reaper acts; '' while it beats."""
    if job.state != type(job).State.RUNNING:
        return ""
    silence = silence_s(job, now=now)
    late_after = 2 * settings.PRODSIM_JOB_HEARTBEAT_S  # one missed beat is not news
    if silence is None or silence <= late_after:
        return ""
    return (
        f"No heartbeat for {round(silence)} s: its worker may have died or lost the database. "
        f"Jobs silent for {settings.PRODSIM_JOB_STALE_S} s are requeued by the reaper."
    )
