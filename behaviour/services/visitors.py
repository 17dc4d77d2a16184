"""A shopper's rights over their events: export them (portability) and erase them.

Erasure deletes every event row of the visitor's hash at once with its idempotency key, and
the recommendations cached from them, and leaves a tombstone (erasure_guard) so that the erased
events cannot come back; the derived lists (associations, popularity) hold no visitor at all
and lose the visitor's share at the next full rebuild, which the erasure requests right away
(the next refresh, unless a full rebuild failed in the last hours: refresh.FULL_RETRY_AFTER_S).
"""

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count

from catalog.selectors import product_skus_by_id

from .. import cache, erasures
from ..models import Event, EventKey
from ..visitors import visitor_hashes
from . import erasure_guard
from .refresh_queue import behaviour_refresh_enqueue

EXPORT_FIELDS = ("event_id", "kind", "occurred_at", "order_id", "quantity", "unit_price", "source")


def visitor_events_export(*, visitor_id: str) -> list[dict]:
    """Every stored event of this visitor, oldest first, with the product's SKU (for a product
    deleted since, the SKU it had: events keep no constraint on their product, and an export
    that left them out would hold less than is stored)."""
    rows = list(
        Event.objects.filter(visitor__in=visitor_hashes(visitor_id))
        .order_by("occurred_at", "event_id")
        .values(*EXPORT_FIELDS, "product_id")
    )
    skus = product_skus_by_id(ids={row["product_id"] for row in rows})
    return [
        {**{field: row[field] for field in EXPORT_FIELDS}, "sku": skus.get(row["product_id"])}
        for row in rows
    ]


def export_json(rows: list[dict]) -> list[dict]:
    """Exported rows (events, and the A/B log's) as the partner API and the storefront's download
    both write them: times by isoformat (microseconds, "+00:00", where DRF's and Django's JSON
    encoders would cut to milliseconds or write "Z"), prices as decimal strings."""
    return [{key: _json_value(value) for key, value in row.items()} for row in rows]


def _json_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def visitor_event_counts(*, visitor_id: str) -> dict[str, int]:
    """How many events of each kind are stored for this visitor (kinds without any left out)."""
    rows = (
        Event.objects.filter(visitor__in=visitor_hashes(visitor_id))
        .values("kind")
        .annotate(count=Count("event_id"))
    )
    return {row["kind"]: row["count"] for row in rows}


@transaction.atomic
def visitor_erase(*, visitor_id: str) -> int:
    """Delete the visitor's events (the count deleted), tombstone the visitor so that their
    events from before now are never stored again, and, once that commits, delete the answers
    cached from them; queue a refresh of derived lists when events went."""
    visitor, *legacy = visitor_hashes(visitor_id)
    # Exclusive: batches, chunks and merges in flight commit first, so their rows are deleted
    # here too, and none starts until the tombstone is visible (erasure_guard).
    erasure_guard.erasure_lock()
    erased_at = erasure_guard.tombstone_record(visitor)
    with connection.cursor() as cursor:
        cursor.execute(_ERASE, {"visitors": [visitor, *legacy], "erased_at": erased_at})
        (deleted,) = cursor.fetchone()
    erasures.visitor_erased(visitor=visitor)  # the A/B log kept under the same hash
    # Whatever was deleted: an answer may have been cached from events a moment ago, or put by a
    # request that read the history before this erasure. Robust: with the cache down the
    # erasure still stands (nothing cached can be read then).
    transaction.on_commit(lambda: cache.visitor_entries_delete(visitor), robust=True)
    if deleted:
        behaviour_refresh_enqueue(force=True, reason="erasure")  # events gone, not new
    return deleted


# The keys go with their events: a key derived from a line without an id digests the visitor's
# hash with the order, SKU and time, so whoever holds the visitor key could confirm an erased
# purchase from it. The tombstone, not the key, refuses those events if they are sent again, and
# once it expires they are past retention (refused as too old). An event dated after the erasure
# (clock skew) is one the tombstone lets through, so its key stays to refuse it as a duplicate
# (`<=`: erasure_guard.predates_erasure).
_ERASE = f"""
    WITH gone AS (
        DELETE FROM {Event._meta.db_table} WHERE visitor = ANY(%(visitors)s)
        RETURNING event_id, occurred_at
    ), keys AS (
        DELETE FROM {EventKey._meta.db_table} AS k USING gone
        WHERE k.event_id = gone.event_id AND gone.occurred_at <= %(erased_at)s
    )
    SELECT count(*) FROM gone
"""
