"""The instruments of bench/behaviour_serving.py: the load averages, the CPU of the web
workers and of their PostgreSQL backends over a phase, and the time spent in a function or a
block by label."""

import os
import time
from collections import defaultdict
from contextlib import contextmanager

import similar_latency as latency


def load_avg() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# --- CPU of the web workers and of their PostgreSQL backends ------------------------------------
def worker_cpu(server) -> float:
    import psutil

    total = 0.0
    for process in psutil.Process(server.process.pid).children(recursive=True):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of every backend connected to the bench database but this process's own
    (the web workers keep theirs: CONN_MAX_AGE)."""
    import psutil

    rows = latency.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    )
    seconds = {}
    for (pid,) in rows:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seconds[pid] = times.user + times.system
    return seconds


class CpuMeter:
    """CPU seconds spent by the web workers, their backends and this process over a phase."""

    def __init__(self, server, database: str):
        self.server, self.database = server, database

    def __enter__(self):
        self.workers = worker_cpu(self.server)
        self.backends = backend_cpu(self.database)
        self.client = time.process_time()
        return self

    def __exit__(self, *exc):
        after = backend_cpu(self.database)
        self.result = {
            "workers_s": worker_cpu(self.server) - self.workers,
            # A backend that closed during the phase is missed: a lower bound.
            "postgres_s": sum(s - self.backends.get(pid, 0.0) for pid, s in after.items()),
            "client_s": time.process_time() - self.client,
        }


# --- time per step ----------------------------------------------------------------------------
class StepClock:
    """Wraps module functions for a while, summing the wall and CPU (this thread) seconds spent
    in each by label; `step(label)` times a block the same way. CPU apart from wall time tells
    this process's work from waiting (on PostgreSQL, or for a core the other load holds)."""

    def __init__(self, targets: dict[str, tuple[object, str]]):
        self.targets = targets
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def __enter__(self):
        self.originals = {}
        for label, (module, name) in self.targets.items():
            original = getattr(module, name)
            self.originals[label] = original
            setattr(module, name, self._timed(label, original))
        return self

    @contextmanager
    def step(self, label: str):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.seconds[label] += time.perf_counter() - wall
            self.cpu[label] += time.thread_time() - cpu

    def _timed(self, label: str, function):
        def timed(*args, **kwargs):
            with self.step(label):
                return function(*args, **kwargs)

        return timed

    def __exit__(self, *exc):
        for label, (module, name) in self.targets.items():
            setattr(module, name, self.originals[label])
