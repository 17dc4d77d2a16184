"""Events past retention that the daily retention task has not deleted yet (it last ran up to a
day ago, longer when beat is down) are neither served nor counted nor trained on."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from behaviour import partitions
from behaviour.models import ItemAssociation, PairCount, ProductPopularity
from behaviour.selectors.recommendations import recommended_for_visitor
from behaviour.selectors.recommendations.history import visitor_history
from behaviour.services.event_arrays import event_arrays
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from behaviour.services.sequence.dataset import EventRows
from behaviour.visitors import visitor_hash
from similarity.selectors import SimilarQuery
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def _expired_purchase(visitor: str, product_id: int, n: int = 1, order_id: str = "o-old") -> None:
    """A purchase accepted ~1.5 days ago at 399.5 days old: a day past retention now."""
    at = timezone.now() - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS + 1)
    partitions.partitions_ensure([partitions.month_start(at)])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO behaviour_eventkey (event_id, occurred_at, received_at) "
            "VALUES (%s, %s, %s)",
            [f"old-{n}", at, timezone.now() - dt.timedelta(days=1.5)],
        )
        cursor.execute(
            "INSERT INTO behaviour_event (event_id, occurred_at, kind, visitor, product_id, "
            "order_id, quantity, unit_price, source) VALUES "
            "(%s, %s, 'purchase', %s, %s, %s, 1, 1.00, 'api')",
            [f"old-{n}", at, visitor_hash(visitor), product_id, order_id],
        )


def test_a_history_past_retention_is_not_served():
    a, b = product(sku="A"), product(sku="B")
    for item, score in ((a, 2.0), (b, 3.0)):  # what a visitor without a history is shown
        ProductPopularity.objects.create(product=item, score=score)
    _expired_purchase("dave", a.pk)

    result = recommended_for_visitor(visitor_id="dave", query=SimilarQuery(k=2))

    assert [item.tier for item in result.items] == ["trending_no_history"] * 2
    assert visitor_history(visitor=visitor_hash("dave")).is_empty


def test_only_the_events_within_retention_are_in_a_history_and_its_count():
    a, b = product(sku="A"), product(sku="B")
    _expired_purchase("dave", a.pk)
    assert events_record(items=order(["B"], "dave", "o-new", days_ago=1))

    history = visitor_history(visitor=visitor_hash("dave"))

    assert [e.product_id for e in history.events] == [b.pk] and history.total == 1


def test_a_full_refresh_does_not_count_an_order_past_retention():
    a, b = product(sku="A"), product(sku="B")
    _expired_purchase("dave", a.pk, 1)
    _expired_purchase("dave", b.pk, 2)  # one order: A and B bought together

    behaviour_refresh(full=True)

    assert not ItemAssociation.objects.exists()


@pytest.mark.django_db(transaction=True)  # increments tell new events by snapshot
def test_an_increment_counts_as_the_rebuild_it_follows_did():
    """An order with lines on both sides of the cut-off gains a line: the increment subtracts
    the order as the rebuild counted it (without its expired line) and adds it back with the
    new line, so the expired line is never counted and no count goes negative."""
    a = product(sku="A")
    product(sku="B")
    product(sku="C")
    _expired_purchase("dave", a.pk, 1, order_id="o-1")
    assert events_record(items=order(["B"], "dave", "o-1", days_ago=1))
    behaviour_refresh(full=True)
    assert not ItemAssociation.objects.exists()

    assert events_record(items=order(["C"], "dave", "o-1", days_ago=0.5))
    refresh = behaviour_refresh()

    assert refresh.stats["mode"] == "increment"
    pairs = set(ItemAssociation.objects.values_list("product__sku", "other__sku"))
    assert pairs == {("B", "C"), ("C", "B")}
    counted = PairCount.objects.filter(kind="bought_together")
    assert not counted.filter(baskets__lt=0).exists()
    assert not counted.filter(product_id=a.pk).exists()


def test_training_and_the_evaluation_read_no_event_past_retention():
    a, b = product(sku="A"), product(sku="B")
    _expired_purchase("dave", a.pk)
    assert events_record(items=order(["B"], "erin", "o-2", days_ago=1))

    assert EventRows.read().products.tolist() == [b.pk]
    assert EventRows.read(until=timezone.now()).products.tolist() == [b.pk]
    assert event_arrays().product_ids.tolist() == [b.pk]
