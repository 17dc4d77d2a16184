"""Events as NumPy arrays for the counting in behaviour.ml: all of them, or a query's lines."""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import connection

from behaviour.ml import cooccurrence

from ..models import Event
from .retention import events_cutoff

# Events of inactive or deleted products are history, not recommendations; events past
# retention (%(cutoff)s) are gone for every reader, deleted yet or not.
EVENTS_SQL = """
SELECT e.kind, e.order_id, e.visitor, e.product_id, extract(epoch FROM e.occurred_at)
FROM behaviour_event e JOIN catalog_product p ON p.id = e.product_id AND p.is_active
WHERE e.occurred_at >= %(cutoff)s
"""
VIEW_KINDS = (Event.Kind.VIEW, Event.Kind.CLICK)
# Rows per fetch of a full read: round trips cost little next to the rows, and one chunk's
# Python tuples (a few hundred bytes a row) stay a few tens of megabytes.
READ_CHUNK = 50_000


@dataclass(frozen=True)
class EventArrays:
    """(L,) parallel arrays, one line per event; products index into product_ids (P,)."""

    product_ids: np.ndarray  # (P,) int64 catalogue ids, ascending
    products: np.ndarray  # (L,) int64 index into product_ids
    times: np.ndarray  # (L,) float64 Unix seconds
    kinds: np.ndarray  # (L,) object (Event.Kind values)
    orders: np.ndarray  # (L,) int64 order code, -1 without an order id
    visitors: np.ndarray  # (L,) int64 visitor code
    new: np.ndarray | None = None  # (L,) bool, where the query says which lines are new

    def order_baskets(self) -> tuple[np.ndarray, np.ndarray]:
        """(basket keys, line indices) of purchase lines: one basket per order id."""
        lines = np.flatnonzero((self.kinds == Event.Kind.PURCHASE) & (self.orders >= 0))
        return self.orders[lines], lines

    def view_sessions(self, gap_seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """(session keys, line indices) of views and clicks: a visitor's visit ends after
        `gap_seconds` idle."""
        lines = np.flatnonzero(np.isin(self.kinds, VIEW_KINDS))
        keys = cooccurrence.sessions(self.visitors[lines], self.times[lines], gap_seconds)
        return keys, lines


def event_arrays(sql: str = EVENTS_SQL, params: dict | None = None) -> EventArrays:
    """The lines of `sql` (kind, order_id, visitor, product_id, epoch seconds[, new]); its
    %(cutoff)s is the retention cut-off now, unless `params` name another.

    Read in chunks through a server-side cursor: a full rebuild reads every retained event, and
    all of them fetched at once as Python tuples cost over a gigabyte per million events."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, {"cutoff": events_cutoff(), **(params or {})})
        return _arrays_of_chunks(iter(lambda: cursor.fetchmany(READ_CHUNK), []))


def arrays_of(rows: list[tuple]) -> EventArrays:
    """Rows of (kind, order_id, visitor, product_id, epoch seconds[, new]) as arrays."""
    return _arrays_of_chunks([rows])


def _arrays_of_chunks(chunks: Iterable[list[tuple]]) -> EventArrays:
    """Each chunk's columns are kept as compact arrays and its rows dropped: visitors and orders
    as integer codes (in the order of their values, whatever order the rows came in), kinds as
    references to one string per kind."""
    columns: dict[str, list[np.ndarray]] = {name: [] for name in _COLUMNS}
    orders, visitors = _Codes(), _Codes()
    for rows in chunks:
        if not rows:
            continue
        kinds, order_ids, visitor_ids, products, times, *new = zip(*rows, strict=True)
        columns["kinds"].append(np.array([_KINDS.get(k, k) for k in kinds], dtype=object))
        columns["orders"].append(orders.of(order_ids))
        columns["visitors"].append(visitors.of(visitor_ids))
        columns["products"].append(np.array(products, dtype=np.int64))
        columns["times"].append(np.array(times, dtype=np.float64))
        if new:
            columns["new"].append(np.array(new[0], dtype=bool))
    if not columns["products"]:
        empty = np.zeros(0, dtype=np.int64)
        new = np.zeros(0, dtype=bool)
        return EventArrays(empty, empty, np.zeros(0), np.zeros(0, dtype=object), empty, empty, new)
    joined = {name: np.concatenate(parts) for name, parts in columns.items() if parts}
    product_ids, product_index = np.unique(joined["products"], return_inverse=True)
    order_codes = orders.sorted_codes(joined["orders"])
    order_codes[joined["orders"] == orders.code_of("")] = -1
    return EventArrays(
        product_ids=product_ids,
        products=product_index.astype(np.int64),
        times=joined["times"],
        kinds=joined["kinds"],
        orders=order_codes,
        visitors=visitors.sorted_codes(joined["visitors"]),
        new=joined.get("new"),
    )


_COLUMNS = ("kinds", "orders", "visitors", "products", "times", "new")
_KINDS = {kind.value: kind.value for kind in Event.Kind}  # one string object per kind


class _Codes:
    """Integer codes of string values, given in the order the values are first seen, then
    renumbered in the order of the values (as numpy.unique numbers them)."""

    def __init__(self):
        self._codes: dict[str, int] = {}

    def of(self, values) -> np.ndarray:
        codes = self._codes
        return np.array([codes.setdefault(value, len(codes)) for value in values], np.int64)

    def code_of(self, value: str) -> int:
        return self._codes.get(value, -1)

    def sorted_codes(self, codes: np.ndarray) -> np.ndarray:
        renumbered = np.empty(len(self._codes), dtype=np.int64)
        for rank, value in enumerate(sorted(self._codes)):
            renumbered[self._codes[value]] = rank
        return renumbered[codes]
