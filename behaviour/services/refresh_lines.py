"""Which events are new since the kept counts were taken, and the lines a refresh reads.

"New" is decided by snapshots, not clocks: each event key row records the transaction that wrote
it (behaviour_eventkey.xact, migration 0005), the kept state records the snapshot its counts saw,
and a key is new when that snapshot could not see it. A batch whose transaction commits after a
refresh started is therefore counted by the next one, never skipped and never counted twice.
Every query returns rows of (kind, order_id, visitor, product_id, epoch seconds, new).

Each leaves out events past retention (%(cutoff)s), deleted by the daily task or not yet. The
kept counts hold what the last full rebuild counted, so increments read with that rebuild's
cut-off (`counted_since`): a line it left out is never subtracted, and the next daily rebuild
drops the lines that expired since.
"""

import datetime as dt

from django.db import connection

from ..models import BehaviourCountState
from .event_arrays import VIEW_KINDS
from .retention import events_cutoff

LINE = "e.kind, e.order_id, e.visitor, e.product_id, extract(epoch FROM e.occurred_at)::float8"
ALL_LINES_SQL = f"SELECT {LINE}, true FROM behaviour_event e WHERE e.occurred_at >= %(cutoff)s"
PREV = "%(prev)s::pg_snapshot"
NEW_KEY = f"k.xact >= pg_snapshot_xmin({PREV}) AND NOT pg_visible_in_snapshot(k.xact, {PREV})"
# The events the last refresh did not see, then the ones it saw that leave the why window now.
MOVED_SQL = f"""
SELECT {LINE}, true FROM behaviour_eventkey k
JOIN behaviour_event e ON e.occurred_at = k.occurred_at AND e.event_id = k.event_id
WHERE {NEW_KEY} AND e.occurred_at >= %(cutoff)s
UNION ALL
SELECT {LINE}, false FROM behaviour_event e JOIN behaviour_eventkey k ON k.event_id = e.event_id
WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND e.occurred_at >= %(cutoff)s
AND pg_visible_in_snapshot(k.xact, {PREV})
"""
# Every line of the orders and visitors those events touch, each marked new or not.
UNIT_LINES_SQL = f"""
SELECT {LINE}, NOT pg_visible_in_snapshot(k.xact, {PREV}) FROM behaviour_event e
JOIN behaviour_eventkey k ON k.event_id = e.event_id
WHERE e.kind = 'purchase' AND e.order_id = ANY(%(orders)s) AND e.occurred_at >= %(cutoff)s
UNION ALL
SELECT {LINE}, NOT pg_visible_in_snapshot(k.xact, {PREV}) FROM behaviour_event e
JOIN behaviour_eventkey k ON k.event_id = e.event_id
WHERE e.kind = ANY(%(view_kinds)s) AND e.visitor = ANY(%(visitors)s)
AND e.occurred_at >= %(cutoff)s
"""
NEW_KEYS_RECEIVED_SQL = f"SELECT max(k.received_at) FROM behaviour_eventkey k WHERE {NEW_KEY}"
NEW_KEYS_EXIST_SQL = f"SELECT EXISTS (SELECT 1 FROM behaviour_eventkey k WHERE {NEW_KEY})"


def counted_since(state: BehaviourCountState) -> dt.datetime:
    """The retention cut-off of the full rebuild the kept counts start from (its reference)."""
    return events_cutoff(dt.datetime.fromtimestamp(state.reference, tz=dt.UTC))


def snapshot_current() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        return cursor.fetchone()[0]


def new_events_exist(state: BehaviourCountState) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(NEW_KEYS_EXIST_SQL, {"prev": state.snapshot})
        return cursor.fetchone()[0]


def new_events_received(state: BehaviourCountState) -> dt.datetime | None:
    """When the latest of the events new since the state was received (None: none)."""
    with connection.cursor() as cursor:
        cursor.execute(NEW_KEYS_RECEIVED_SQL, {"prev": state.snapshot})
        return cursor.fetchone()[0]


def moved_lines(state: BehaviourCountState, window_days: float, now: float) -> list[tuple]:
    """Rows of the events new since the state, then those leaving the why window since it."""

    def moment(seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds - window_days * 86_400.0, tz=dt.UTC)

    params = {
        "prev": state.snapshot,
        "start": moment(state.counted_at),
        "end": moment(now),
        "cutoff": counted_since(state),
    }
    with connection.cursor() as cursor:
        cursor.execute(MOVED_SQL, params)
        return cursor.fetchall()


def unit_lines(state: BehaviourCountState, moved: list[tuple]) -> list[tuple]:
    """Rows of every line of the orders and visitors `moved` touches, marked new or not."""
    orders = sorted({row[1] for row in moved if row[0] == "purchase" and row[1]})
    visitors = sorted({row[2] for row in moved if row[0] in VIEW_KINDS})
    params = {
        "prev": state.snapshot,
        "orders": orders,
        "visitors": visitors,
        "view_kinds": list(VIEW_KINDS),
        "cutoff": counted_since(state),
    }
    with connection.cursor() as cursor:
        cursor.execute(UNIT_LINES_SQL, params)
        return cursor.fetchall()
