"""Fault tests' processes: a worker handle, polling until a condition holds, and throwaway
PostgreSQL/Valkey servers under a private var dir that a test may restart."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    """A running `celery worker` (prefork, one child) and its log file."""

    process: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    def child_pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


def wait_until(predicate, *, timeout: float, worker: Worker | None = None, what: str = ""):
    """Poll predicate() until truthy; fail with the worker's log when it times out or dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if worker is not None and not worker.alive():
            pytest.fail(f"worker exited with {worker.process.returncode}:\n{worker.output()}")
        time.sleep(0.1)
    log = worker.output()[-6000:] if worker else ""
    pytest.fail(f"not within {timeout}s: {what}\n{log}")


class PrivateServices:
    """prodsim's embedded PostgreSQL and Valkey under a private var dir (restartable)."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir

    @contextmanager
    def _here(self):
        saved = {name: os.environ.get(name) for name in ("PRODSIM_VAR_DIR", "PRODSIM_VALKEY_PORT")}
        os.environ["PRODSIM_VAR_DIR"] = str(self.var_dir)
        os.environ.pop("PRODSIM_VALKEY_PORT", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def start_valkey(self) -> str:
        from prodsim_site.embedded import paths, valkey

        with self._here():
            valkey.start()
            return paths.valkey_url(db=1)

    def restart_valkey(self) -> None:
        from prodsim_site.embedded import valkey

        with self._here():
            assert valkey.stop() is True
            valkey.start()

    def start_postgres(self) -> None:
        from prodsim_site.embedded import postgres

        with self._here():
            postgres.start()

    def restart_postgres(self) -> None:
        from prodsim_site.embedded import postgres

        with self._here():
            assert postgres.stop() is True
            postgres.start()

    def postgres_connect(self):
        import psycopg

        from prodsim_site.embedded import paths

        with self._here():
            host = str(paths.postgres_socket_dir())
        return psycopg.connect(host=host, user="postgres", dbname="prodsim", autocommit=True)

    def env(self) -> dict:
        """Environment for a manage.py or worker child that uses these servers."""
        return {
            "PRODSIM_VAR_DIR": str(self.var_dir),
            "PRODSIM_VALKEY_PORT": None,
            "DATABASE_URL": None,
            "REDIS_URL": None,
        }

    def manage(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        environment = {**os.environ, **self.env(), **(extra_env or {})}
        environment = {key: value for key, value in environment.items() if value is not None}
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def stop(self) -> None:
        from prodsim_site.embedded import postgres

        try:
            with self._here():
                postgres.stop()
        finally:
            # SIGTERM is Valkey's own graceful shutdown; valkey.stop() (exercised by the restart
            # test) waits out the client's reconnect retries, seconds a teardown need not spend.
            pid_file = self.var_dir / "valkey" / "valkey.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
