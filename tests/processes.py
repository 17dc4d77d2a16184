"""Helpers for tests that run child processes: point them at the test database, wait for them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_subprocess() -> str:
    """A DATABASE_URL pointing a child process at this test run's database (e.g. test_prodsim),
    with every option of the parent's (a ?host=/socket form, sslmode, ...) in its query."""
    from urllib.parse import quote, urlencode

    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    # Values a URL can carry (not Django's pool dict or cursor class).
    options = {
        key: value
        for key, value in (db.get("OPTIONS") or {}).items()
        if isinstance(value, str | int | float)
    }
    server = quote(db["HOST"], safe="")
    if db["HOST"].startswith("/"):  # a socket directory, which urlsplit would lower-case
        options["host"], server = db["HOST"], ""
    server += f":{db['PORT']}" if db["PORT"] else ""
    query = f"?{urlencode(options)}" if options else ""
    return f"postgres://{credentials}@{server}/{quote(db['NAME'], safe='')}{query}"


def wait_for(predicate, *, timeout: float, interval: float = 0.2, process=None):
    """Poll until predicate() is truthy; fail with the worker's output if it died or timed out."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if process is not None and process.poll() is not None:
            pytest.fail(f"worker exited with {process.returncode}:\n{process.stdout.read()}")
        time.sleep(interval)
    output = ""
    if process is not None:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    pytest.fail(f"condition not met within {timeout}s\n{output}")


def manage_services(var_dir: Path, action: str, **env_set: str) -> subprocess.CompletedProcess:
    """`manage.py services ACTION` in a child on `var_dir`, with `env_set` (external URLs, say)
    in place of this run's Valkey port and service URLs."""
    dropped = ("PRODSIM_VALKEY_PORT", "DATABASE_URL", "REDIS_URL")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(PRODSIM_VAR_DIR=str(var_dir), **env_set)
    return subprocess.run(
        [sys.executable, "manage.py", "services", action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
