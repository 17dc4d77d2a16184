"""prodsim's own PostgreSQL+pgvector and Valkey, started when no external service is configured.

With DATABASE_URL / REDIS_URL set, the matching embedded server is never started, stopped or
given anything under var/ (a Docker image's var/ may not even be writable). Start is
idempotent and serialised by a file lock, so web, workers and tests may all ask at once.
"""

import fcntl
import os
from contextlib import contextmanager
from urllib.parse import urlsplit

from . import paths, postgres, valkey


def uses_embedded_postgres() -> bool:
    return not os.environ.get("DATABASE_URL")


def uses_embedded_valkey() -> bool:
    return not os.environ.get("REDIS_URL")


@contextmanager
def _services_lock():
    lock_path = paths.var_dir() / ".services.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def embedded_servers() -> dict:
    """The servers this configuration runs itself, by name."""
    return {
        name: server
        for name, server, embedded in (
            ("postgres", postgres, uses_embedded_postgres()),
            ("valkey", valkey, uses_embedded_valkey()),
        )
        if embedded
    }


def ensure_started() -> None:
    """Start whichever embedded servers this configuration needs (no-op when they run)."""
    if not (servers := embedded_servers()):
        return
    with _services_lock():
        for server in servers.values():
            server.start()


class ServicesStopError(RuntimeError):
    """A server did not stop; the others were stopped all the same."""


def stop() -> dict[str, bool]:
    """Stop the embedded servers (True: it was running); their data stays under var/.

    Each is stopped even when another fails, so a broken PostgreSQL never leaves Valkey running.
    External servers are not ours to stop: they are left out.
    """
    stopped, outcomes, errors = {}, [], []
    if not (servers := embedded_servers()):
        return stopped
    with _services_lock():
        for name, server in servers.items():
            try:
                stopped[name] = server.stop()
            except Exception as exc:  # reported below, once the other server is stopped too
                errors.append(exc)
                outcomes.append(f"{name}: failed: {exc}")
            else:
                outcomes.append(f"{name}: {'stopped' if stopped[name] else 'was not running'}")
    if errors:
        raise ServicesStopError(", ".join(outcomes)) from errors[0]
    return stopped


def status() -> dict[str, dict]:
    """Each embedded server's state; for an external one, where it is (never its password)."""
    return {
        "postgres": (
            {"embedded": True, **postgres.status()}
            if uses_embedded_postgres()
            else {"embedded": False, "external": _external_database()}
        ),
        "valkey": (
            {"embedded": True, **valkey.status()}
            if uses_embedded_valkey()
            else {"embedded": False, "external": _external_redis()}
        ),
    }


def _external_database() -> dict:
    from django.conf import settings  # the URL as settings.py read it, checked at start-up

    db = settings.DATABASES["default"]
    options = db.get("OPTIONS") or {}
    return {
        "host": db["HOST"] or options.get("host", ""),
        "port": db["PORT"] or options.get("port", ""),
        "database": db["NAME"] or options.get("service", ""),
    }


def _external_redis() -> dict:
    from django.conf import settings

    url = urlsplit(settings.REDIS_URL)
    return {
        "host": url.hostname,
        "port": url.port or 6379,
        "db": int(url.path.strip("/") or 0),
        "tls": url.scheme == "rediss",
    }
