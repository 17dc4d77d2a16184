"""Which shopper a session is to the experiments: a random id kept in the session, hashed.

Not the session key, which signing in renews (Django's login cycles it) and which would draw the
shopper's arm again; an erasure drops the id, so what is logged afterwards is not linked to what
was logged before.
"""

import secrets

from django.contrib.sessions.backends.base import SessionBase

from .selectors import session_id_hash

EXPERIMENT_ID_KEY = "experiments_id"  # the session's random id the arms are drawn from


def session_hash(*, session: SessionBase) -> str:
    """The hashed id the experiments know the session by, made on its first page."""
    if (shopper := session.get(EXPERIMENT_ID_KEY)) is None:
        shopper = session[EXPERIMENT_ID_KEY] = secrets.token_hex(16)
        # The middleware sends the cookie only for modified sessions: setting the id marks it,
        # so the next page comes with this session and stays in its arm.
    return session_id_hash(shopper_id=shopper)


def session_hash_if_any(*, session: SessionBase) -> str:
    """session_hash of a session that has an experiments id, else "" (a click's log: it must
    not start one)."""
    shopper = session.get(EXPERIMENT_ID_KEY)
    return session_id_hash(shopper_id=shopper) if shopper else ""


def session_forget(*, session: SessionBase) -> None:
    """Start the session's experiments afresh: the impressions logged from now on are not
    linked to the earlier ones (an erasure)."""
    session.pop(EXPERIMENT_ID_KEY, None)
