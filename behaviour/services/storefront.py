"""The demo storefront's own events: views, adds to basket and purchases, as a partner sends them.

They go through the same checks and exactly-once write as the API's batches (source
"storefront"), so the refresh learns from the shop's shoppers like from any partner's.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from ..models import Event
from .ingest import REJECTED, EventOutcome, events_record

logger = logging.getLogger(__name__)

# (sku, quantity, unit_price); a view carries neither quantity nor price: (sku, None, None)
Line = tuple[str, int | None, Decimal | None]


def storefront_events_record(
    *,
    visitor_id: str,
    kind: str,
    lines: Sequence[Line],
    order_id: str = "",
    occurred_at: dt.datetime | None = None,
) -> list[EventOutcome]:
    """Record one event per line, all at `occurred_at` (default: this moment), for the shopper
    `visitor_id` (raw: it is hashed on the way in). A purchase's lines share `order_id`. One
    outcome per line, in order; a rejected line is logged (the page still renders), never raised.

    A page that passes the moment it read the session's visitor id gets its events refused when
    the shopper erased (and the session forgot that id) since: they are from before the erasure
    (erasure_guard), and nothing could reach them under the forgotten id."""
    occurred_at = (occurred_at or timezone.now()).isoformat()
    items = [
        {
            "event_id": uuid.uuid4().hex,
            "kind": kind,
            "sku": sku,
            "visitor_id": visitor_id,
            "occurred_at": occurred_at,
            **({"order_id": order_id} if order_id else {}),
            **({"quantity": quantity} if quantity is not None else {}),
            **({"unit_price": str(unit_price)} if unit_price is not None else {}),
        }
        for sku, quantity, unit_price in lines
    ]
    outcomes = events_record(items=items, source=Event.Source.STOREFRONT)
    for outcome, item in zip(outcomes, items, strict=True):
        if outcome.status == REJECTED:
            logger.warning(
                "storefront %s event for %s rejected: %s", kind, item["sku"], outcome.reason
            )
    return outcomes
