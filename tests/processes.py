"""Helpers for tests that run child processes: point them at the test database, wait for them."""

import pytest


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
