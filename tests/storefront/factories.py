"""Helpers for the storefront tests."""

import threading
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client

from core.session_turns import SESSIONS

_SESSION_TURN_WAITED = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND classid = %s::oid "  # the lock's first key, SESSIONS (pg_advisory_lock(int, int))
    # this database's sessions only: concurrent runs and `make run` share the server
    "AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
)


def waits_for_its_turn(session_key: str, request: Callable[[Client], bool]) -> tuple[bool, bool]:
    """Run `request` (True when answered as expected) from another tab of the session while a
    request of that session holds its turn, then release the turn: (the tab waited for the
    turn, the tab was answered once it was released). A marked view gives (True, True)."""
    answered = threading.Event()

    def other_tab():
        try:
            tab = Client()
            tab.cookies["sessionid"] = session_key
            if request(tab):
                answered.set()
        finally:
            connection.close()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [SESSIONS, session_key])
    thread = threading.Thread(target=other_tab)
    thread.start()
    try:
        waited = _until_waiting(lambda: answered.is_set())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [SESSIONS, session_key])
    thread.join(timeout=60)
    return waited, answered.is_set()


def _until_waiting(answered: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether a request came to wait for a session's turn before it was answered."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not answered():
        with connection.cursor() as cursor:
            cursor.execute(_SESSION_TURN_WAITED, [SESSIONS])
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False
