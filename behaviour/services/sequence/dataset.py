"""The training data of a sequence model, read from the events table and the catalogue.

Every active product gets an item index (sorted by id), also one without events: its output
vector then comes from its content alone (cold start; content.py). Visitors are numbered by
their hash.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection

from behaviour.ml.sequence.data import KIND_CODES, SequenceData
from catalog.models import Product

from ...models import Event
from ..retention import events_cutoff
from .content import ContentSource

READ_CHUNK = 20_000  # events per fetch from the server-side cursor
# Microseconds since the epoch (exact: extract returns numeric). The rows come in table order:
# an ORDER BY would walk the primary key's index, reading the heap at random wherever events
# were stored out of time order (a history imported late); read() sorts them in NumPy instead.
_EVENT_ROWS = (
    "SELECT visitor, product_id, kind, (extract(epoch FROM occurred_at) * 1000000)::bigint "
    f"FROM {Event._meta.db_table} WHERE occurred_at >= %s"
)


@dataclass(frozen=True)
class TrainingData:
    data: SequenceData
    product_ids: np.ndarray  # (n_items,) int64: the product of each item index
    # (n_items, d) float32 image and text parts side by side (zero where a product has none),
    # or None when there is neither an image version nor a lexical index
    content: np.ndarray | None
    source: ContentSource

    @property
    def image_content(self) -> np.ndarray | None:
        """The image part alone: the served content signal searches image space."""
        if self.content is None or not self.source.image_dim:
            return None
        return self.content[:, : self.source.image_dim]


def training_data(*, until: datetime | None = None) -> TrainingData:
    """All events of active products (that occurred up to `until`, when given) as per-visitor
    sequences, with content vectors. A training job reads up to its own start, so that a retry
    sees the same events and resumes from its checkpoint (checkpoints.data_fingerprint)."""
    product_ids = np.array(
        sorted(Product.objects.filter(is_active=True).values_list("pk", flat=True)),
        dtype=np.int64,
    )
    data = sequences_of(product_ids, EventRows.read(until=until))
    source = ContentSource.current()
    content = source.vectors(product_ids)[0] if source.dim and len(product_ids) else None
    return TrainingData(data, product_ids, content, source)


@dataclass(frozen=True)
class EventRows:
    """The events table as parallel arrays (visitor hash, product id, kind code, Unix time in
    whole seconds), in time order."""

    visitors: np.ndarray
    products: np.ndarray
    kinds: np.ndarray
    times: np.ndarray

    @classmethod
    def read(cls, until: datetime | None = None) -> "EventRows":
        """Every event within retention (that occurred up to `until`), in chunks through a
        server-side cursor. Plain SQL: the ORM's per-row datetime objects cost more than the rest
        of the read. The cut-off is retention's at `until` (a training's start), so that a
        retry reads the same events; the daily retention task deletes older ones anyway."""
        chunks = []
        with connection.chunked_cursor() as cursor:
            if until is None:
                cursor.execute(_EVENT_ROWS, [events_cutoff()])
            else:
                cursor.execute(
                    f"{_EVENT_ROWS} AND occurred_at <= %s", [events_cutoff(until), until]
                )
            while rows := cursor.fetchmany(READ_CHUNK):
                visitors, products, kinds, times = zip(*rows, strict=True)
                codes = np.array([KIND_CODES[kind] for kind in kinds], dtype=np.int8)
                chunks.append(
                    (
                        np.array(visitors, dtype=object),
                        np.array(products, dtype=np.int64),
                        codes,
                        np.array(times, dtype=np.int64),
                    )
                )
        if not chunks:
            empty = np.zeros(0, dtype=np.int64)
            return cls(np.zeros(0, dtype=object), empty, np.zeros(0, dtype=np.int8), empty)
        visitors, products, kinds, micros = (
            np.concatenate(column) for column in zip(*chunks, strict=True)
        )
        # In time order to the microsecond, as serving reads a visitor's events: SequenceData
        # keeps the order it is given within a second. Whole seconds, rounded down as
        # int(datetime.timestamp()) does.
        order = np.argsort(micros, kind="stable")
        return cls(visitors[order], products[order], kinds[order], micros[order] // 1_000_000)


def sequences_of(product_ids: np.ndarray, rows: EventRows | None = None) -> SequenceData:
    """Every visitor's events (`rows`, else read now) of these products (sorted ids), item i
    being product_ids[i]; events of other products (inactive ones, or newer than a trained
    version) are left out."""
    rows = rows or EventRows.read()
    items = np.searchsorted(product_ids, rows.products)
    known = np.zeros(len(items), dtype=bool)
    inside = items < len(product_ids)
    known[inside] = product_ids[items[inside]] == rows.products[inside]
    _, visitor_keys = np.unique(rows.visitors[known], return_inverse=True)
    return SequenceData.from_arrays(
        visitor_keys.astype(np.int64),
        items[known],
        rows.kinds[known],
        rows.times[known],
        len(product_ids),
    )
