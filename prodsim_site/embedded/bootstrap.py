"""Start the embedded services before Django or Celery touches them.

Entry points (manage.py, wsgi, asgi, the Celery app) call this first; settings.py never does,
because importing settings must not start servers.
"""

import os
import sys

# Commands that must work without any server running (or that manage the servers themselves).
NO_SERVICE_COMMANDS = {"services", "help", "version", "check", "makemigrations", "spectacular"}
# Any command's own help, or Django's version: printing them needs no server, and on a fresh
# checkout starting one would first create a database.
NO_SERVICE_OPTIONS = {"-h", "--help", "--version"}


def start_embedded_services_for(argv: list[str]) -> None:
    """Start embedded services unless the command in argv does not need them."""
    command = argv[1] if len(argv) > 1 else "help"
    if command in NO_SERVICE_COMMANDS or command.startswith("-"):
        return
    if NO_SERVICE_OPTIONS.intersection(argv[2:]):
        return
    start_embedded_services()


def start_embedded_services() -> None:
    if os.environ.get("PRODSIM_NO_EMBEDDED_START"):
        return
    from . import ensure_started

    try:
        ensure_started()
    except RuntimeError as exc:  # PostgresStartError / ValkeyStartError carry the log tail
        sys.stderr.write(f"prodsim: could not start embedded services: {exc}\n")
        raise SystemExit(1) from exc
