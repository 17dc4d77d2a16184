"""prodsim's own PostgreSQL+pgvector and Valkey, started when no external service is configured.

With DATABASE_URL / REDIS_URL set, the matching embedded server is never started. Start is
idempotent and serialised by a file lock, so web, workers and tests may all ask at once.
"""

import fcntl
import os
from contextlib import contextmanager

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


def ensure_started() -> None:
    """Start whichever embedded servers this configuration needs (no-op when they run)."""
    if not (uses_embedded_postgres() or uses_embedded_valkey()):
        return
    with _services_lock():
        if uses_embedded_postgres():
            postgres.start()
        if uses_embedded_valkey():
            valkey.start()


class ServicesStopError(RuntimeError):
    """A server did not stop; the others were stopped all the same."""


def stop() -> dict[str, bool]:
    """Stop the embedded servers (True: it was running); their data stays under var/.

    Each is stopped even when another fails, so a broken PostgreSQL never leaves Valkey running.
    """
    stopped, outcomes, errors = {}, [], []
    with _services_lock():
        for name, server in (("postgres", postgres), ("valkey", valkey)):
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
    return {
        "postgres": {"embedded": uses_embedded_postgres(), **postgres.status()},
        "valkey": {"embedded": uses_embedded_valkey(), **valkey.status()},
    }
