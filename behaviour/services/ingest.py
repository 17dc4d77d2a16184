"""Recording a batch of events exactly once: each is accepted, a duplicate, or rejected with why.

The batch is checked item by item (valid events beside bad ones are kept), SKUs are resolved in
one query, and the accepted ones are written in one transaction: ids first into the key table
(ON CONFLICT DO NOTHING, so a resent or concurrently sent event is a duplicate, never a second
row), then the events whose ids were new. Nothing is half-written: the transaction holds both. An
erased shopper's events from before their erasure are rejected (erasure_guard says why).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors

from .. import partitions
from ..models import Event
from . import erasure_guard
from .erasure_guard import ERROR_ERASED
from .validation import (
    ERROR_REPEATED,
    ERROR_UNKNOWN_SKU,
    EventIn,
    InvalidEvent,
    event_check,
)

MAX_BATCH = 1000

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
# (ids stored now, indexes refused as an erased shopper's, indexes repeating an earlier id)
Stored = tuple[set[str], set[int], set[int]]
NONE: Stored = (set(), set(), set())


@dataclass(frozen=True)
class EventOutcome:
    index: int  # the event's position in the batch
    event_id: str
    status: str
    reason: str = ""


def events_record(*, items: Sequence, source: str = Event.Source.API) -> list[EventOutcome]:
    """Check and store a batch (at most MAX_BATCH items); one outcome per item, in order."""
    now = timezone.now()
    oldest = now - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS)
    outcomes: dict[int, EventOutcome] = {}
    valid: dict[int, EventIn] = {}
    for index, raw in enumerate(items):
        raw_id = raw.get("event_id") if isinstance(raw, dict) else None
        label = _echoable(raw_id) if isinstance(raw_id, str) else ""
        try:
            event = event_check(
                raw, now=now, oldest=oldest, retention_days=settings.PRODSIM_EVENT_RETENTION_DAYS
            )
        except InvalidEvent as exc:
            outcomes[index] = EventOutcome(index, label, REJECTED, _echoable(str(exc)))
            continue
        valid[index] = event
    products = catalog_selectors.product_ids_by_sku(skus=[e.sku for e in valid.values()])
    for index, event in list(valid.items()):
        if event.sku not in products:
            outcomes[index] = EventOutcome(
                index, event.event_id, REJECTED, ERROR_UNKNOWN_SKU.format(sku=event.sku)
            )
            del valid[index]
    new_ids, erased, repeated = _store(valid, products, source, now) if valid else NONE
    for index, event in valid.items():
        if index in erased:
            outcomes[index] = EventOutcome(index, event.event_id, REJECTED, ERROR_ERASED)
            continue
        if index in repeated:
            outcomes[index] = EventOutcome(index, event.event_id, REJECTED, ERROR_REPEATED)
            continue
        status = ACCEPTED if event.event_id in new_ids else DUPLICATE
        outcomes[index] = EventOutcome(index, event.event_id, status)
    return [outcomes[index] for index in range(len(items))]


def _echoable(text: str) -> str:
    """Text as the answer can carry it: a rejected event's id or value may hold a lone surrogate,
    which UTF-8 cannot encode (the whole answer would fail), so it is written escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@transaction.atomic
def _store(checked: dict[int, EventIn], products: dict[str, int], source: str, now) -> Stored:
    """Store the events whose ids are new, the ids in byte order as import chunks take theirs
    (two writers of the same ids cannot deadlock). The erasure lock and the tombstones are read
    first, in this transaction: an erasure either waits for this batch (and deletes it) or has
    committed its tombstone (erasure_guard). An id repeated within the batch is the first use's
    that passed every check: an event refused for its SKU or as an erased shopper's does not
    make a later valid one a repeat."""
    erasure_guard.writes_lock()
    erased = _erased_indexes(checked)
    first: dict[str, int] = {}
    repeated: set[int] = set()
    for index, event in checked.items():
        if index not in erased:
            if event.event_id in first:
                repeated.add(index)
            else:
                first[event.event_id] = index
    events = [checked[index] for index in first.values()]
    if not events:
        return set(), erased, repeated
    partitions.partitions_ensure(partitions.month_start(e.occurred_at) for e in events)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO behaviour_eventkey (event_id, occurred_at, received_at) "
            "SELECT id, at, %s FROM unnest(%s::varchar[], %s::timestamptz[]) AS t(id, at) "
            'ORDER BY id COLLATE "C" ON CONFLICT (event_id) DO NOTHING RETURNING event_id',
            [now, [e.event_id for e in events], [e.occurred_at for e in events]],
        )
        new_ids = {row[0] for row in cursor.fetchall()}
        fresh = [e for e in events if e.event_id in new_ids]
        if fresh:
            cursor.execute(
                "INSERT INTO behaviour_event (event_id, occurred_at, kind, visitor, product_id, "
                "order_id, quantity, unit_price, source) SELECT *, %s FROM unnest("
                "%s::varchar[], %s::timestamptz[], %s::varchar[], %s::varchar[], %s::bigint[], "
                "%s::varchar[], %s::integer[], %s::numeric[])",
                [
                    source,
                    [e.event_id for e in fresh],
                    [e.occurred_at for e in fresh],
                    [e.kind for e in fresh],
                    [e.visitor for e in fresh],
                    [products[e.sku] for e in fresh],
                    [e.order_id for e in fresh],
                    [e.quantity for e in fresh],
                    [e.unit_price for e in fresh],
                ],
            )
    return new_ids, erased, repeated


def _erased_indexes(events: dict[int, EventIn]) -> set[int]:
    """Batch indexes of the events of an erased shopper from before their erasure (one query)."""
    erased_at = erasure_guard.erased_since(e.visitor for e in events.values())
    return {
        index
        for index, e in events.items()
        if erasure_guard.predates_erasure(e.occurred_at, erased_at.get(e.visitor))
    }
