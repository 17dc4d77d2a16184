"""A signed-in customer's events: the anonymous session's events become the customer's.

As Recombee's MergeUsers does when an anonymous shopper signs in (and as Algolia Personalization
asks of the events sent before sign-in), the shop expects the basket and the browsing that led
to the sign-in to shape the customer's recommendations at once, and on every device afterwards.
So the events are re-keyed to the customer's visitor hash, not linked at read time: one history,
read by the same query as any visitor's.

The derived lists need no refresh: orders keep their ids, and the anonymous visit's pairs were
counted when its events arrived (the daily full rebuild regroups its views with the customer's).
"""

import logging

from django.db import transaction

from ..models import Event
from ..visitors import visitor_hash
from . import erasure_guard

logger = logging.getLogger(__name__)


@transaction.atomic
def visitor_events_merge(*, from_visitor_id: str, into_visitor_id: str) -> int:
    """Move every event of `from_visitor_id` to `into_visitor_id` (raw ids, hashed here; both
    must be valid, InvalidVisitorId says why not); the count moved. Repeating it moves nothing.

    A write like any batch (erasure_guard): an erasure of either visitor waits for it and then
    deletes the moved rows too. Of an erased `from_visitor_id`, nothing from before its erasure
    moves (none is left after the erasure; the filter keeps it so whatever wrote one)."""
    source, target = visitor_hash(from_visitor_id), visitor_hash(into_visitor_id)
    if source == target:
        return 0
    erasure_guard.writes_lock()
    events = Event.objects.filter(visitor=source)
    if erased_at := erasure_guard.erased_since([source]).get(source):
        # erasure_guard.predates_erasure as a filter: only what it lets through moves
        events = events.exclude(occurred_at__lte=erased_at)
    moved = events.update(visitor=target)
    logger.info("merged %s events of an anonymous visitor into a customer's", moved)
    return moved
