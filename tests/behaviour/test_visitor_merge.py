"""Merging an anonymous visitor's events into a customer's (the storefront's sign-in)."""

import pytest

from behaviour.models import Event
from behaviour.services.ingest import events_record
from behaviour.services.visitor_merge import visitor_events_merge
from behaviour.visitors import ERROR_VISITOR_EMPTY, InvalidVisitorId, visitor_hash
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db


def skus_of(visitor_id: str) -> list[str]:
    rows = Event.objects.filter(visitor=visitor_hash(visitor_id)).order_by("occurred_at")
    return list(rows.values_list("product__sku", flat=True))


@pytest.fixture
def histories():
    product(sku="A"), product(sku="B"), product(sku="C")
    events_record(
        items=[
            event("A", "customer", days_ago=3),
            event("B", "session", days_ago=2),
            event("C", "session", "add_to_cart", days_ago=1),
            event("A", "someone else", days_ago=1),
        ]
    )


def test_every_event_of_the_session_becomes_the_customers_once(histories):
    assert visitor_events_merge(from_visitor_id="session", into_visitor_id="customer") == 2
    assert visitor_events_merge(from_visitor_id="session", into_visitor_id="customer") == 0

    assert skus_of("customer") == ["A", "B", "C"]
    assert (skus_of("session"), skus_of("someone else")) == ([], ["A"])


def test_a_visitor_merged_into_itself_keeps_its_events(histories):
    assert visitor_events_merge(from_visitor_id="session", into_visitor_id="session") == 0
    assert skus_of("session") == ["B", "C"]


def test_an_invalid_id_is_refused_and_nothing_moves(histories):
    with pytest.raises(InvalidVisitorId, match=ERROR_VISITOR_EMPTY):
        visitor_events_merge(from_visitor_id="session", into_visitor_id=" ")
    assert skus_of("session") == ["B", "C"]
