"""Monthly partitions of the event table: created a month ahead (daily) or by their first event,
dropped by retention.

Partition names carry their month (behaviour_event_y2026m12), so retention finds what to drop
from the catalogue of tables alone. Nothing is remembered in-process: a creation can roll back
with its transaction, and CREATE TABLE IF NOT EXISTS on an existing month is a catalogue lookup.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable

from django.db import OperationalError, connection, transaction

PARENT = "behaviour_event"
CREATE_LOCK_ID = 0x6576_7470  # "evtp": pg_advisory_xact_lock key of partition creation
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that expired
ERROR_BUSY = (
    "the event table stayed busy (a long reader: a backup, a full refresh) through {tries} "
    "tries to create {name}"
)


def month_start(moment: dt.datetime) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def partitions_ensure(months: Iterable[dt.date]) -> None:
    """Create the partitions of these months (first days) unless they exist.

    Concurrent batches may both find a month missing: creation is serialised by an advisory
    lock held to the end of the creation's transaction (its own outside a caller's: the lock
    then covers the CREATE too), and the second one then finds the table there. An existing
    month costs one catalogue lookup and takes no lock.
    """
    with connection.cursor() as cursor:
        for month in sorted(set(months)):
            if _exists(cursor, partition_name(month)):
                continue
            with transaction.atomic():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CREATE_LOCK_ID])
                _create(cursor, month)


def partitions_ensure_beside_readers(
    months: Iterable[dt.date], *, lock_timeout_ms: int, tries: int, pause_s: float
) -> None:
    """partitions_ensure for a writer that can wait (an import), outside any transaction: each
    month in a transaction of its own that gives up after `lock_timeout_ms` and is tried again,
    so the shop's own event writes (page views) never queue behind a creation that waits for a
    long reader (a backup's pg_dump, a full refresh) for more than that. After `tries`, an
    OperationalError: the caller's task retries it later, as after an outage."""
    for month in sorted(set(months)):
        for _ in range(tries):
            if _made_without_long_wait(month, lock_timeout_ms):
                break
            time.sleep(pause_s)
        else:
            raise OperationalError(ERROR_BUSY.format(name=partition_name(month), tries=tries))


def partitions_ahead(today: dt.date, *, lock_timeout_ms: int) -> list[str]:
    """Create this month's and next month's partitions ahead of their first event, each in a
    transaction of its own that gives up rather than wait longer than `lock_timeout_ms`; the
    names created. A creation needs the parent table exclusively: made by the month's first
    event, it waited behind any long reader (a backup's pg_dump, a full refresh) inside that
    write's transaction, and every event write (a shopper's page view) queued behind it."""
    this_month = dt.date(today.year, today.month, 1)
    created = []
    for month in (this_month, _next_month(this_month)):
        with connection.cursor() as cursor:
            if _exists(cursor, partition_name(month)):
                continue
        # Not made here? Tried again tomorrow; the month's first event creates it otherwise.
        if _made_without_long_wait(month, lock_timeout_ms):
            created.append(partition_name(month))
    return created


def _made_without_long_wait(month: dt.date, lock_timeout_ms: int) -> bool:
    """Whether the month's partition exists now, made in a transaction of its own that gave up
    after `lock_timeout_ms` rather than queue the event writes behind it."""
    return _without_long_wait(lambda _: partitions_ensure([month]), lock_timeout_ms)


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def _create(cursor, month: dt.date) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {PARENT} "
        "FOR VALUES FROM (%s) TO (%s)",
        [f"{month.isoformat()} 00:00+00", f"{_next_month(month).isoformat()} 00:00+00"],
    )


def partitions_list() -> list[tuple[str, dt.date]]:
    """(name, month) of every existing partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return [(name, dt.date(int(name[-7:-3]), int(name[-2:]), 1)) for name in names]


def partition_drop(name: str, *, lock_timeout_ms: int) -> bool:
    """Drop one month's partition (retention) in a transaction of its own, unless that would wait
    longer than `lock_timeout_ms`: whether it went. The name must be one of partitions_list().

    A DROP needs the parent table exclusively: queued behind a long reader (a full refresh), it
    would hold up every event write queued behind it, so it gives up instead, and the caller
    tries another day."""
    if name not in {existing for existing, _ in partitions_list()}:
        raise ValueError(f"{name!r} is not a partition of {PARENT}")
    return _without_long_wait(lambda cursor: cursor.execute(f"DROP TABLE {name}"), lock_timeout_ms)


def _without_long_wait(work: Callable, lock_timeout_ms: int) -> bool:
    """Run `work(cursor)` in a transaction of its own whose lock waits give up after
    `lock_timeout_ms`: whether it ran (False: a lock was not had in time, nothing done)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
            work(cursor)
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")  # a caller's transaction goes on
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    return True
