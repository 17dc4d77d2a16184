"""A signed-in customer's other sessions (their other devices and browsers), which their
erasure ends: each remembers their recently viewed products (their A/B log is the customer's,
erased by visitor, but a session may still hold an anonymous visitor's or, logged before the
experiments knew shoppers as visitors, one of its own: experiments.sessions).

Django's session store has no index by user: the sessions are found by reading every unexpired
one (the auth middleware's user id is inside the encoded data). That is a scan of the session
table, fine for an erasure, which is rare and throttled per client IP (storefront.privacy);
never do it on a page view. Only database-backed engines (db, cached_db: the default, and this
project's) can be scanned; the cache and signed-cookie engines keep no list of sessions."""

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

logger = logging.getLogger(__name__)
SCAN_CHUNK = 2_000  # sessions decoded per fetch: bounded memory however many are stored


def other_sessions(request) -> list[SessionBase]:
    """The unexpired sessions, other than this request's, signed in as the request's user;
    none for an anonymous shopper, who is one session only."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return user_sessions(user, exclude_key=request.session.session_key)


def user_sessions(user, *, exclude_key: str | None = None) -> list[SessionBase]:
    """The unexpired sessions signed in as `user` (but the one keyed `exclude_key`)."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        logger.warning(
            "%s cannot list sessions: other devices keep theirs", settings.SESSION_ENGINE
        )
        return []
    # As django.contrib.auth.login stores it.
    user_id = user._meta.pk.value_to_string(user)
    decoder = store_class()
    rows = (
        store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .exclude(session_key=exclude_key)
        .values_list("session_key", "session_data")
        .iterator(chunk_size=SCAN_CHUNK)
    )
    return [
        # Loaded through the engine, so that deleting one also clears a cached copy.
        store_class(session_key=key)
        for key, data in rows
        if decoder.decode(data).get(SESSION_KEY) == user_id
    ]
