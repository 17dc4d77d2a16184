"""Events as NumPy arrays for the counting in behaviour.ml: all of them, or a query's lines."""

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
    %(cutoff)s is the retention cut-off now, unless `params` name another."""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"cutoff": events_cutoff(), **(params or {})})
        return arrays_of(cursor.fetchall())


def arrays_of(rows: list[tuple]) -> EventArrays:
    """Rows of (kind, order_id, visitor, product_id, epoch seconds[, new]) as arrays."""
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        new = np.zeros(0, dtype=bool)
        return EventArrays(empty, empty, np.zeros(0), np.zeros(0, dtype=object), empty, empty, new)
    kinds, orders, visitors, products, times, *new = (
        np.array(column) for column in zip(*rows, strict=True)
    )
    product_ids, product_index = np.unique(products.astype(np.int64), return_inverse=True)
    order_codes = _codes(orders)
    order_codes[orders == ""] = -1
    return EventArrays(
        product_ids=product_ids,
        products=product_index.astype(np.int64),
        times=times.astype(np.float64),
        kinds=kinds.astype(object),
        orders=order_codes,
        visitors=_codes(visitors),
        new=new[0].astype(bool) if new else None,
    )


def _codes(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1].astype(np.int64)
