"""The storefront's own events: built from basket lines, stored like a partner's, hashed visitor."""

import datetime as dt
import logging
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from behaviour.models import Event
from behaviour.services.ingest import ACCEPTED, REJECTED
from behaviour.services.storefront import storefront_events_record
from behaviour.services.validation import ERROR_UNKNOWN_SKU
from behaviour.visitors import visitor_hash
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def rows() -> list[tuple]:
    return list(
        Event.objects.order_by("product__sku").values_list(
            "kind", "product__sku", "visitor", "order_id", "quantity", "unit_price", "source"
        )
    )


def test_a_purchase_is_one_event_per_line_under_the_order_id():
    product(sku="A")
    product(sku="B", price=Decimal("24.50"))
    before = timezone.now()

    outcomes = storefront_events_record(
        visitor_id="shopper-1",
        kind="purchase",
        lines=[("A", 2, Decimal("9.90")), ("B", 1, Decimal("24.50"))],
        order_id="order-1",
    )

    assert [o.status for o in outcomes] == [ACCEPTED, ACCEPTED]
    visitor = visitor_hash("shopper-1")
    assert rows() == [
        ("purchase", "A", visitor, "order-1", 2, Decimal("9.90"), "storefront"),
        ("purchase", "B", visitor, "order-1", 1, Decimal("24.50"), "storefront"),
    ]
    ids = [o.event_id for o in outcomes]
    assert all(re.fullmatch(r"[0-9a-f]{32}", event_id) for event_id in ids)
    assert len(set(ids)) == 2
    times = set(Event.objects.values_list("occurred_at", flat=True))
    assert len(times) == 1 and before <= times.pop() <= timezone.now()


def test_a_view_carries_no_quantity_or_price():
    product(sku="A")

    storefront_events_record(visitor_id="shopper-1", kind="view", lines=[("A", None, None)])

    assert rows() == [("view", "A", visitor_hash("shopper-1"), "", None, None, "storefront")]


def test_a_rejected_line_is_logged_not_raised(caplog):
    product(sku="A")

    with caplog.at_level(logging.WARNING, logger="behaviour.services.storefront"):
        outcomes = storefront_events_record(
            visitor_id="shopper-1", kind="add_to_cart", lines=[("GONE", 1, Decimal("1.00"))]
        )

    reason = ERROR_UNKNOWN_SKU.format(sku="GONE")
    assert [(o.status, o.reason) for o in outcomes] == [(REJECTED, reason)]
    assert caplog.messages == [f"storefront add_to_cart event for GONE rejected: {reason}"]
    assert Event.objects.count() == 0


def test_every_call_is_a_new_event_even_for_the_same_line():
    product(sku="A")

    for _ in range(2):
        storefront_events_record(visitor_id="shopper-1", kind="view", lines=[("A", None, None)])

    assert Event.objects.count() == 2
    assert Event.objects.first().occurred_at > timezone.now() - dt.timedelta(minutes=1)
