"""Helpers for tests that run child processes: point them at the test database, wait for them."""

import pytest


def database_url_for_subprocess() -> str:
    """A DATABASE_URL pointing a child process at this test run's database (e.g. test_prodsim)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return (
        f"postgres://{credentials}@{quote(db['HOST'] or 'localhost', safe='')}:"
        f"{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"
    )


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
