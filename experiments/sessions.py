"""Which shopper a page is to the experiments: the same hashed visitor as their behaviour events.

The storefront passes its visitor id (an anonymous session's random id, or a signed-in
customer's own, derived from the account) and the experiments hash it with behaviour's visitor
key (behaviour.visitors.visitor_hash). So one customer is in one arm on every device, the
customer's export and erasure by that hash reach the A/B log of every session they browsed in
(signed out since or not), rotating SECRET_KEY changes nothing, and an impressions write can
meet the erasure's tombstone like an event (experiments.services.impressions_log).

The session remembers the hash its pages logged under, for the click log, which has only the
session to go by; and since when, so that a sign-in moves only that session's rows.
"""

import datetime as dt

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import salted_hmac

from behaviour.visitors import visitor_hash

from .selectors import Shopper
from .selectors import shopper_log as shopper_log_read
from .selectors import shopper_log_counts as shopper_log_counts_read
from .services import shopper_log_erase, shopper_log_merge

SHOPPER_KEY = "experiments_shopper"  # {"hash": the visitor hash, "since": ISO time first used}
# Before the experiments knew shoppers as visitors, each session drew its arms from a random id
# of its own, kept under this key and hashed with SECRET_KEY. Rows logged that way can only be
# found from a session that still holds the id: delete this once PRODSIM_EVENT_RETENTION_DAYS
# have passed since the upgrade (retention has deleted them all by then).
LEGACY_ID_KEY = "experiments_id"
LEGACY_HASH_SALT = "prodsim.experiments.session"


def shopper_for(*, session: SessionBase, visitor_id: str, read_at: dt.datetime) -> Shopper:
    """The shopper of a page whose visitor id (raw, as the storefront knows it) was read at
    `read_at`; remembered by the session for its clicks."""
    hashed = visitor_hash(visitor_id)
    if session.get(SHOPPER_KEY, {}).get("hash") != hashed:
        # The first page of a visitor: the session is modified once, not on every page.
        session[SHOPPER_KEY] = {"hash": hashed, "since": read_at.isoformat()}
    return Shopper(hash=hashed, read_at=read_at)


def session_hash_if_any(*, session: SessionBase) -> str:
    """The visitor hash this session's pages logged under, else "" (a click's log: it has only
    the session, and must not start an identity)."""
    return session.get(SHOPPER_KEY, {}).get("hash", "")


def shopper_merge(*, session: SessionBase, from_visitor_id: str, into_visitor_id: str) -> int:
    """At sign-in, as the behaviour events are merged: what this session logged as the anonymous
    visitor becomes the customer's (each row keeps its experiment and arm); the count moved.
    The customer's export and erasure then reach it: nobody could, under the id forgotten."""
    remembered = session.get(SHOPPER_KEY, {})
    into = visitor_hash(into_visitor_id)
    if remembered.get("hash") != visitor_hash(from_visitor_id):
        return 0  # nothing logged as that visitor in this session
    session[SHOPPER_KEY] = {"hash": into, "since": remembered["since"]}
    return shopper_log_merge(
        from_hash=remembered["hash"],
        into_hash=into,
        since=dt.datetime.fromisoformat(remembered["since"]),
    )


def shopper_log(*, session: SessionBase, visitor_id: str | None) -> dict[str, list[dict]]:
    """The export's A/B log: the visitor's (all their sessions', for a customer) and what this
    session logged before the upgrade."""
    return shopper_log_read(shopper_hashes=_shopper_hashes(session, visitor_id))


def shopper_log_counts(*, session: SessionBase, visitor_id: str | None) -> dict[str, int]:
    """How many impressions and clicks `shopper_log` exports (the shopper's data page)."""
    return shopper_log_counts_read(shopper_hashes=_shopper_hashes(session, visitor_id))


def _shopper_hashes(session: SessionBase, visitor_id: str | None) -> list[str]:
    """The hashes a shopper's A/B log is under: their visitor's, and what this session logged
    before the upgrade."""
    return ([visitor_hash(visitor_id)] if visitor_id else []) + _legacy_hashes(session)


def session_forget(*, session: SessionBase) -> int:
    """A session's part of an erasure: it forgets the hash it logged under (the visitor's erasure
    deletes those rows: experiments.apps subscribes to it) and deletes what it logged before the
    upgrade; the count of those impressions."""
    erased = shopper_log_erase(shopper_hashes=_legacy_hashes(session))
    session.pop(LEGACY_ID_KEY, None)
    session.pop(SHOPPER_KEY, None)
    return erased


def _legacy_hashes(session: SessionBase) -> list[str]:
    """The hashes of rows this session logged before the upgrade: its old id under SECRET_KEY
    and each SECRET_KEY_FALLBACKS key, so that a rotation since does not hide them."""
    if not (legacy_id := session.get(LEGACY_ID_KEY)):
        return []
    return [
        salted_hmac(LEGACY_HASH_SALT, legacy_id, secret=key, algorithm="sha256").hexdigest()
        for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]
