"""What keeps an erasure whole while events keep arriving: a lock and a tombstone.

Every write of events (a batch, a storefront event, an import chunk, a merge) takes ERASURE_LOCK
shared for its transaction, and an erasure takes it exclusively: the erasure waits for the
writes in flight to commit (then deletes their rows too), and writes that start meanwhile wait
for it. After the lock each write reads the tombstones (ErasedVisitor) of its visitors, so
events of an erased shopper from before the erasure, which an import or a resent batch may
still hold (their keys were never stored, or went with the erasure, so the idempotency
table cannot stop them), are refused; later ones are a new history.

Lock order: ERASURE_LOCK first, then partitions.CREATE_LOCK_ID (taken by partitions_ensure
inside a write); the erasure takes no other advisory lock, so the two cannot deadlock.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from ..models import ErasedVisitor

ERASURE_LOCK = 0x6572_6173  # "eras": pg_advisory_xact_lock key, shared by writes
ERROR_ERASED = "the shopper was erased; events from before the erasure are not stored again"


def writes_lock() -> None:
    """Take the lock as a write of events, to the end of the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [ERASURE_LOCK])


def erasure_lock() -> None:
    """Take the lock as an erasure: wait for the writes in flight, hold off new ones."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ERASURE_LOCK])


def erased_since(visitors: Iterable[str]) -> dict[str, dt.datetime]:
    """Visitor hash → erased_at for those of `visitors` with a tombstone (one query). Plain SQL
    with one array parameter: every uncached recommendation asks it, and the ORM's compiling
    of it cost more than running it."""
    wanted = list(set(visitors))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_TOMBSTONES, [wanted])
        return dict(cursor.fetchall())


_TOMBSTONES = (
    f"SELECT visitor, erased_at FROM {ErasedVisitor._meta.db_table} WHERE visitor = ANY(%s)"
)


def predates_erasure(occurred_at: dt.datetime, erased_at: dt.datetime | None) -> bool:
    """Whether an event at `occurred_at` of a visitor erased at `erased_at` (None: never) is one
    the erasure covers, and so refused: the moment of the erasure itself counts as before. The
    one rule every write applies; the erasure's key deletion (visitors._ERASE) says it in SQL."""
    return erased_at is not None and occurred_at <= erased_at


def tombstone_record(visitor: str) -> dt.datetime:
    """Record (or move forward) the visitor's tombstone; the moment of the erasure."""
    now = timezone.now()
    ErasedVisitor.objects.update_or_create(visitor=visitor, defaults={"erased_at": now})
    return now


def tombstones_expire(*, cutoff: dt.datetime) -> int:
    """Delete tombstones of erasures before `cutoff` (the retention cut-off: every event they
    would refuse is refused as too old anyway); how many went."""
    deleted, _ = ErasedVisitor.objects.filter(erased_at__lt=cutoff).delete()
    return deleted
