"""Retention drops whole monthly partitions and the older rows of the boundary month."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour import partitions
from behaviour.models import Event, EventKey
from behaviour.services.ingest import events_record
from behaviour.services.retention import events_retention_enforce
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db


def test_retention_drops_old_months_and_keeps_recent_events(settings):
    product(sku="A")
    events_record(items=[event("A", days_ago=100), event("A", days_ago=45), event("A", days_ago=1)])
    settings.PRODSIM_EVENT_RETENTION_DAYS = 60
    now = timezone.now()
    months_before = {month for _, month in partitions.partitions_list()}

    gone = events_retention_enforce(now=now)

    cutoff = partitions.month_start(now - dt.timedelta(days=60))
    assert gone["partitions"] == [
        partitions.partition_name(month) for month in sorted(months_before) if month < cutoff
    ]
    assert len(gone["partitions"]) >= 1
    assert Event.objects.count() == 2
    assert EventKey.objects.count() == 2
    made_ahead = {month for name, month in partitions.partitions_list()} - months_before
    assert {month for _, month in partitions.partitions_list()} == {
        month for month in months_before if month >= cutoff
    } | made_ahead
    assert {partitions.partition_name(m) for m in made_ahead} == set(gone["partitions_created"])


def test_retention_lets_tombstones_older_than_the_period_go(settings):
    from behaviour.models import ErasedVisitor
    from behaviour.services.visitors import visitor_erase

    settings.PRODSIM_EVENT_RETENTION_DAYS = 60
    visitor_erase(visitor_id="long-gone")
    ErasedVisitor.objects.update(erased_at=timezone.now() - dt.timedelta(days=61))
    visitor_erase(visitor_id="recent")

    gone = events_retention_enforce()

    assert gone["tombstones"] == 1
    assert ErasedVisitor.objects.count() == 1


def test_retention_forgets_the_skus_of_products_deleted_before_the_period(settings):
    """A deleted product's SKU is kept for its events' exports, until no event can name it."""
    from catalog.models import DeletedProduct
    from catalog.services.products import product_delete

    settings.PRODSIM_EVENT_RETENTION_DAYS = 60
    product(sku="OLD"), product(sku="RECENT")
    product_delete(sku="OLD"), product_delete(sku="RECENT")
    long_ago = timezone.now() - dt.timedelta(days=61)
    DeletedProduct.objects.filter(sku="OLD").update(deleted_at=long_ago)

    events_retention_enforce()

    assert list(DeletedProduct.objects.values_list("sku", flat=True)) == ["RECENT"]


def test_a_deleted_products_sku_outlives_every_event_retention_keeps(settings):
    from behaviour.services.visitors import visitor_events_export
    from catalog.models import DeletedProduct
    from catalog.services.products import product_delete

    product(sku="A")
    # Dated 4 minutes ahead (ingestion accepts a little clock skew), then the product goes.
    ahead = (timezone.now() + dt.timedelta(minutes=4)).isoformat()
    events_record(items=[event("A", "shopper", occurred_at=ahead)])
    product_delete(sku="A")
    deleted_at = DeletedProduct.objects.get().deleted_at

    # Retention runs when its cut-off has just passed the deletion, not yet the event.
    later = deleted_at + dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS, minutes=2)
    events_retention_enforce(now=later)

    assert Event.objects.count() == 1
    assert [row["sku"] for row in visitor_events_export(visitor_id="shopper")] == ["A"]


def test_the_daily_run_prunes_the_refresh_history_keeping_the_last_of_each_outcome():
    """A refresh every 30 s adds 2,880 rows a day, each refresh reads the table, and nothing
    deleted them: a year of them slowed every refresh."""
    from behaviour.models import BehaviourRefresh
    from behaviour.services.retention import REFRESH_HISTORY_DAYS

    now = timezone.now()
    old = now - dt.timedelta(days=REFRESH_HISTORY_DAYS + 1)

    def refresh(state: str, started_at: dt.datetime) -> int:
        return BehaviourRefresh.objects.create(state=state, started_at=started_at).pk

    last_failed = refresh("failed", old)  # past the limit, but the newest failure: kept
    gone = [
        refresh("succeeded", old - dt.timedelta(hours=1)),
        refresh("failed", old - dt.timedelta(hours=2)),
        refresh("succeeded", old + dt.timedelta(minutes=1)),
    ]
    recent = refresh("succeeded", now - dt.timedelta(minutes=1))

    pruned = events_retention_enforce(now=now)["refreshes"]

    assert pruned == len(gone)
    assert set(BehaviourRefresh.objects.values_list("pk", flat=True)) == {last_failed, recent}
