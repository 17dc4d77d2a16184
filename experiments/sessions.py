"""Which shopper a session is to the experiments: a random id kept in the session, hashed.

Not the session key, which signing in renews (Django's login cycles it) and which would draw the
shopper's arm again; an erasure deletes what was logged under the id and drops it, so what is
logged afterwards is not linked to anything before.
"""

import secrets

from django.contrib.sessions.backends.base import SessionBase

from .selectors import session_id_hash
from .services import session_log_erase

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


def session_forget(*, session: SessionBase) -> int:
    """An erasure: delete the session's impressions and clicks (the count of impressions; its
    'Recently viewed' ones are a copy of its browsing) and start its experiments afresh, so
    what is logged from now on is not linked to anything before."""
    erased = session_log_erase(session_hash=session_hash_if_any(session=session))
    session.pop(EXPERIMENT_ID_KEY, None)
    return erased
