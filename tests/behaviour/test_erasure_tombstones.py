"""An erased shopper's tombstone: their events from before the erasure are rejected on every
way in (API batch, storefront, merge), later ones are a new history; tombstones hold a hash and
a time only, and go with the retention period."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from behaviour import cache as behaviour_cache
from behaviour import partitions
from behaviour.models import ErasedVisitor, Event, EventKey
from behaviour.services.erasure_guard import ERROR_ERASED, predates_erasure, tombstones_expire
from behaviour.services.ingest import ACCEPTED, DUPLICATE, REJECTED, events_record
from behaviour.services.storefront import storefront_events_record
from behaviour.services.visitor_merge import visitor_events_merge
from behaviour.services.visitors import visitor_erase
from behaviour.visitors import visitor_hash
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db


def test_a_resent_batch_brings_back_nothing_from_before_the_erasure():
    product(sku="A")
    events_record(items=[event("A", "alice", event_id="seen", days_ago=1)])
    assert visitor_erase(visitor_id="alice") == 1

    outcomes = events_record(
        items=[
            event("A", "alice", event_id="never-stored", days_ago=2),  # a key never written
            event("A", "alice", event_id="back-again", days_ago=0),  # after the erasure
            event("A", "bob", event_id="someone-else", days_ago=2),
        ]
    )

    assert [(o.status, o.reason) for o in outcomes] == [
        (REJECTED, ERROR_ERASED),
        (ACCEPTED, ""),
        (ACCEPTED, ""),
    ]
    kept = Event.objects.filter(visitor=visitor_hash("alice"))
    assert list(kept.values_list("event_id", flat=True)) == ["back-again"]


def test_an_event_dated_after_the_erasure_keeps_its_key_so_a_resend_stays_a_duplicate():
    """Clock skew lets an event be dated minutes ahead: the tombstone would let its resend
    through as a new history, so its key (unlike the others') stays to refuse it."""
    product(sku="A")
    ahead = (timezone.now() + dt.timedelta(minutes=2)).isoformat()
    past = event("A", "alice", event_id="past", days_ago=1)
    early = event("A", "alice", event_id="ahead", occurred_at=ahead)
    events_record(items=[past, early])

    assert visitor_erase(visitor_id="alice") == 2

    assert list(EventKey.objects.values_list("event_id", flat=True)) == ["ahead"]
    outcomes = events_record(items=[past, early])
    assert [(o.status, o.reason) for o in outcomes] == [(REJECTED, ERROR_ERASED), (DUPLICATE, "")]
    assert not Event.objects.exists()


def test_the_tombstone_holds_the_visitors_hash_and_the_time_only():
    before = timezone.now()
    visitor_erase(visitor_id="alice")
    visitor_erase(visitor_id="alice")  # again: the same tombstone, a later time

    (tombstone,) = ErasedVisitor.objects.values()
    assert tombstone.keys() == {"id", "visitor", "erased_at"}
    assert tombstone["visitor"] == visitor_hash("alice") and tombstone["erased_at"] >= before


def test_a_storefront_view_read_before_the_erasure_is_refused():
    """The page read the session's visitor id, then the shopper erased in another tab: the view,
    dated when the id was read, is refused (nothing could reach it under the forgotten id)."""
    product(sku="A")
    read_at = timezone.now()
    visitor_erase(visitor_id="anon-1")

    late = storefront_events_record(
        visitor_id="anon-1", kind="view", lines=[("A", None, None)], occurred_at=read_at
    )
    fresh = storefront_events_record(visitor_id="anon-1", kind="view", lines=[("A", None, None)])

    assert [(o.status, o.reason) for o in late] == [(REJECTED, ERROR_ERASED)]
    assert [o.status for o in fresh] == [ACCEPTED]


def test_a_merge_from_an_erased_visitor_moves_nothing_from_before_the_erasure():
    a = product(sku="A")
    visitor_erase(visitor_id="anon-1")
    # A row of the erased history, as only a write bypassing the checks could leave it.
    at = timezone.now() - dt.timedelta(days=1)
    partitions.partitions_ensure([partitions.month_start(at)])
    Event.objects.create(
        event_id="stray",
        occurred_at=at,
        kind="view",
        visitor=visitor_hash("anon-1"),
        product=a,
    )
    events_record(items=[event("A", "anon-1", event_id="after", days_ago=0)])

    assert visitor_events_merge(from_visitor_id="anon-1", into_visitor_id="cust") == 1
    moved = Event.objects.filter(visitor=visitor_hash("cust"))
    assert list(moved.values_list("event_id", flat=True)) == ["after"]


def test_an_erasure_without_events_still_deletes_the_visitors_cached_answers(
    django_capture_on_commit_callbacks,
):
    """An answer may be cached from events erased a moment before (or put by a request that read
    them): the entries go whatever the erasure deleted."""
    visitor = visitor_hash("alice")
    key = behaviour_cache.visitor_entry_key(list_name="recommended", visitor=visitor, params={})
    behaviour_cache.put(key, {"results": []})

    with django_capture_on_commit_callbacks(execute=True):
        assert visitor_erase(visitor_id="alice") == 0

    assert cache.get(key) is None


def test_tombstones_older_than_the_retention_period_go(settings):
    visitor_erase(visitor_id="old"), visitor_erase(visitor_id="new")
    long_ago = timezone.now() - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS + 1)
    ErasedVisitor.objects.filter(visitor=visitor_hash("old")).update(erased_at=long_ago)

    cutoff = timezone.now() - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS)
    assert tombstones_expire(cutoff=cutoff) == 1
    assert list(ErasedVisitor.objects.values_list("visitor", flat=True)) == [visitor_hash("new")]


def test_events_hashed_before_ids_were_normalised_are_exported_and_erased_by_the_same_id(
    partner_client, settings
):
    """Earlier releases hashed the id as sent: ' alice ' and a decomposed 'zoé' (NFD) each had
    their own hash, which the normalised id no longer gives."""
    import hashlib
    import hmac
    import unicodedata

    from behaviour.services.visitors import visitor_events_export

    product(sku="A")
    key = settings.PRODSIM_VISITOR_KEY.encode()
    sent = [" alice ", unicodedata.normalize("NFD", "zo\u00e9")]
    for number, raw in enumerate(sent):
        events_record(items=[event("A", "someone", event_id=f"old-{number}")])
        old_hash = hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()
        Event.objects.filter(event_id=f"old-{number}").update(visitor=old_hash)
    events_record(items=[event("A", "alice", event_id="new")])  # since the upgrade

    assert [e["event_id"] for e in visitor_events_export(visitor_id=" alice ")] == ["old-0", "new"]
    assert visitor_erase(visitor_id=" alice ") == 2
    assert partner_client.delete(f"/api/v1/visitors/{sent[1]}/").json() == {"events_deleted": 1}
    assert Event.objects.count() == 0


def test_an_event_at_the_erasures_very_moment_counts_as_before_it():
    moment = timezone.now()
    assert predates_erasure(moment, moment)
    assert not predates_erasure(moment + dt.timedelta(microseconds=1), moment)
    assert not predates_erasure(moment, None)
