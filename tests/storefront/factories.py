"""Helpers for the storefront tests."""

import threading
from collections.abc import Callable

from django.db import connection
from django.test import Client

from core.session_turns import SESSIONS


def waits_for_its_turn(session_key: str, request: Callable[[Client], bool]) -> tuple[bool, bool]:
    """Run `request` (True when answered as expected) from another tab of the session while a
    request of that session holds its turn, then release the turn: (answered while the turn was
    held, answered once it was released). A marked view gives (False, True)."""
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
        early = answered.wait(timeout=1.0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [SESSIONS, session_key])
    thread.join(timeout=60)
    return early, answered.is_set()
