"""One request at a time per session for the views that change what the session holds.

Django loads a session when a request first reads it and saves the whole of it when the response
goes out, so two requests of one session (a double-clicked "Place order", two tabs adding to the
basket, a product page saving its recently viewed list while an add runs) both read the same
basket and the last save wins: two orders of one basket, or one add recorded and lost. A view
marked `session_turns` runs under a PostgreSQL advisory lock keyed by the session cookie, taken
before the session is loaded and released after it is saved (the middleware sits outside
SessionMiddleware), so the next marked request of that session reads what the last one saved.
Every view that writes the session is marked; one that only reads it need not be.
"""

from functools import wraps

from django.conf import settings
from django.db import DatabaseError, connection
from django.urls import Resolver404, resolve

SESSIONS = 0x73657373  # "sess": pg_advisory_lock's first key, apart from core.locks' kinds
MARK = "session_turns"


def session_turns(view):
    """Mark a view whose requests take turns with the session's other marked requests."""

    @wraps(view)
    def marked(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    setattr(marked, MARK, True)
    return marked


class SessionTurnsMiddleware:
    """Listed before SessionMiddleware: the lock spans the session's load and its save."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not key:  # no session yet: no other request can have it
            return self.get_response(request)
        if not _marked(request.path_info):
            return self.get_response(request)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [SESSIONS, key])
        try:
            return self.get_response(request)
        finally:
            _unlock(key)


def _marked(path: str) -> bool:
    try:
        return getattr(resolve(path).func, MARK, False)
    except Resolver404:
        return False


def _unlock(key: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [SESSIONS, key])
    except DatabaseError:
        # A lock held by a kept connection would stall the session's next request for as long as
        # the connection lives; closing it releases every lock it holds.
        connection.close()
