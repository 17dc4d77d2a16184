"""A visitor's recent events as the recommender reads them, at request time (no retraining: a new
event counts in the very next answer)."""

import datetime as dt
from dataclasses import dataclass, field, replace

from django.db import connection

from behaviour.ml.sequence.data import KIND_CODES
from behaviour.ml.sequence.signals import REPEAT_CODES
from behaviour.ml.sequence.signals import SERVED_HISTORY_EVENTS as HISTORY_EVENTS

from ...models import Event
from ...services.retention import events_cutoff

# How much one event says about what a shopper wants next, by kind.
KIND_WEIGHT = {
    Event.Kind.PURCHASE: 1.0,
    Event.Kind.ADD_TO_CART: 0.7,
    Event.Kind.CLICK: 0.4,
    Event.Kind.VIEW: 0.4,
}
# Each older product (by its newest event) counts this share of the next newer one.
RECENCY_DECAY = 0.85
# What counts as a repeat (purchases and adds to basket), as the hybrid's tuning counts it.
REPEAT_KINDS = frozenset(kind for kind, code in KIND_CODES.items() if code in REPEAT_CODES)


@dataclass(frozen=True)
class HistoryEvent:
    product_id: int
    kind: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class VisitorHistory:
    """The newest events of one (hashed) visitor, oldest first."""

    events: tuple[HistoryEvent, ...] = ()
    weights: dict[int, float] = field(default_factory=dict)  # product → recency × kind weight
    kinds: dict[int, frozenset[str]] = field(default_factory=dict)  # product → its event kinds
    bought: dict[int, int] = field(default_factory=dict)  # product → purchases and adds to basket
    total: int = 0  # all the visitor's events, also those older than the ones read
    visitor: str = ""  # the visitor hash they were read for ("" for a history built in memory)

    @property
    def is_empty(self) -> bool:
        return not self.events

    @property
    def marker(self) -> str:
        """What changes with any new (or erased) event of the visitor: their event count and the
        oldest and newest times read. Cache keys carry it, so a new event shows in the next
        answer; read with the events themselves, it always describes the history the answer is
        built from. The oldest time covers a late event (older than the newest) arriving as an
        old one leaves the retention window: the count and the newest time stay the same."""
        if not self.events:
            return f"{self.total}:0:0"
        oldest, newest = self.events[0].occurred_at, self.events[-1].occurred_at
        return f"{self.total}:{oldest.timestamp()}:{newest.timestamp()}"


def visitor_history(*, visitor: str, limit: int = HISTORY_EVENTS) -> VisitorHistory:
    """The newest `limit` events of the visitor hash `visitor` (their index: visitor, time) and
    the count of all their events, in one query (the window counts before the LIMIT); events
    past retention are left out (the time bound on the index's second column also prunes the
    monthly partitions), whether or not the daily retention task has deleted them yet.

    Plain SQL: it runs first in every recommendation, and compiling the ORM's form of it took
    as long as running it."""
    with connection.cursor() as cursor:
        cursor.execute(_NEWEST_EVENTS, [visitor, events_cutoff(), limit])
        rows = cursor.fetchall()
    history = history_of([HistoryEvent(*row[:3]) for row in reversed(rows)])
    return replace(history, total=rows[0][3] if rows else 0, visitor=visitor)


def bought_ever(history: VisitorHistory) -> set[int]:
    """Every product the visitor bought or put in the basket within retention (README: with
    repeats off, nothing already bought is recommended), also before the newest events read.

    Asked only when those newest events are not all the visitor's. The (visitor, occurred_at)
    index finds their rows and the kind is checked on them, so it costs less than the newest
    events' query (which counts them all) before it: measured on 400k events, 0.2 ms in
    PostgreSQL for a visitor with 500 events, 1.2–3 ms with 5,000, 10 ms with 50,000. The
    history's marker (the cache key's) moves with any event this reads, so cached answers hold."""
    if not history.visitor or history.total <= len(history.events):
        return set(history.bought)
    with connection.cursor() as cursor:
        cursor.execute(_BOUGHT, [history.visitor, events_cutoff(), sorted(REPEAT_KINDS)])
        return {row[0] for row in cursor.fetchall()}


_NEWEST_EVENTS = (
    f"SELECT product_id, kind, occurred_at, COUNT(*) OVER () FROM {Event._meta.db_table} "
    "WHERE visitor = %s AND occurred_at >= %s ORDER BY occurred_at DESC, event_id DESC LIMIT %s"
)


_BOUGHT = (
    f"SELECT DISTINCT product_id FROM {Event._meta.db_table} "
    "WHERE visitor = %s AND occurred_at >= %s AND kind = ANY(%s)"
)


def history_of(events: list[HistoryEvent]) -> VisitorHistory:
    """Weights per product: the product's strongest kind, decayed by how many other products the
    visitor turned to since (so a long browse fades an old purchase, and rank, not clock time,
    measures recency: a returning customer's last visit counts whatever its age)."""
    kinds: dict[int, set[str]] = {}
    bought: dict[int, int] = {}
    for event in events:
        kinds.setdefault(event.product_id, set()).add(event.kind)
        if event.kind in REPEAT_KINDS:
            bought[event.product_id] = bought.get(event.product_id, 0) + 1
    newest_first = list(dict.fromkeys(event.product_id for event in reversed(events)))
    weights = {
        pid: RECENCY_DECAY**rank * max(KIND_WEIGHT.get(kind, 0.4) for kind in kinds[pid])
        for rank, pid in enumerate(newest_first)
    }
    return VisitorHistory(
        tuple(events), weights, {pid: frozenset(k) for pid, k in kinds.items()}, bought
    )
