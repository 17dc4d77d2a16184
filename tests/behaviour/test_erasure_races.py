"""Erasure racing with ingestion, caching and merging: an erasure waits for the writes in flight
(erasure_guard's lock) and deletes them too; an answer cached meanwhile is taken back."""

import threading
import time

import pytest
from django.core.cache import cache as django_cache
from django.db import connection, transaction

from behaviour import cache as behaviour_cache
from behaviour.models import Event, ProductPopularity
from behaviour.services import ingest
from behaviour.services.ingest import events_record
from behaviour.services.visitor_merge import visitor_events_merge
from behaviour.services.visitors import visitor_erase
from behaviour.visitors import visitor_hash
from catalog.models import Product
from tests.catalog.factories import product

from .factories import bought_together, event, order

pytestmark = pytest.mark.django_db(transaction=True)


def _shop():
    for sku in "ABCDE":
        product(sku=sku, title=f"Product {sku}")
    bought_together("A", "B", 3.0, both_ways=True)
    for sku, score in (("B", 3.0), ("A", 2.0)):
        ProductPopularity.objects.create(product=Product.objects.get(sku=sku), score=score)
    # The month's partition exists already (as in any running shop).
    assert events_record(items=[event("C", "someone-else", days_ago=0.1)])[0].status == "accepted"


def _in_thread(target):
    """Run `target` on its own connection; (thread, errors raised, results returned)."""
    errors, results = [], []

    def run():
        try:
            results.append(target())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors, results


def _waiting_on_the_erasure_lock(seconds: float = 20) -> bool:
    """Whether a session waits for an advisory lock (the erasure for the write in flight)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(  # this database's sessions only: concurrent runs share the server
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                "pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def test_an_erasure_waits_for_a_batch_in_flight_and_deletes_it_too(monkeypatch):
    """A batch written but not yet committed when the erasure starts: the erasure waits for its
    commit, then deletes its rows with the rest."""
    _shop()
    assert events_record(items=[event("A", "alice", event_id="old-1", days_ago=0.2)])
    written, release = threading.Event(), threading.Event()
    original = ingest._store

    def slow_store(*args, **kwargs):
        with transaction.atomic():
            result = original(*args, **kwargs)
            written.set()
            release.wait(20)  # e.g. the commit's flush, a slow network round trip
        return result

    monkeypatch.setattr(ingest, "_store", slow_store)
    batch, batch_errors, _ = _in_thread(
        lambda: events_record(items=[event("B", "alice", event_id="new-1", days_ago=0.01)])
    )
    assert written.wait(20)
    erasure, erasure_errors, erased = _in_thread(lambda: visitor_erase(visitor_id="alice"))
    assert _waiting_on_the_erasure_lock()
    release.set()
    batch.join(30), erasure.join(30)

    assert not batch_errors and not erasure_errors and erased == [2]
    assert not Event.objects.filter(visitor=visitor_hash("alice")).exists()


def test_an_answer_cached_while_the_shopper_is_erased_is_taken_back(partner_client, monkeypatch):
    """GET .../recommendations/ reads the history, an erasure deletes the cached entries, then
    the answer is put: the put is taken back, so no answer built from the erased history
    stays in Valkey."""
    _shop()
    events_record(items=order(["A"], "bob", "bob-1", days_ago=0.5))
    from behaviour.api import recommendations as api

    original = api.recommended_for_history

    def erasing_meanwhile(**kwargs):
        result = original(**kwargs)
        visitor_erase(visitor_id="bob")  # another request: DELETE /api/v1/visitors/bob/
        return result

    monkeypatch.setattr(api, "recommended_for_history", erasing_meanwhile)
    response = partner_client.get("/api/v1/visitors/bob/recommendations/?k=3&explain=true")
    assert response.status_code == 200
    assert not Event.objects.filter(visitor=visitor_hash("bob")).exists()

    pattern = django_cache.make_key(f"*{behaviour_cache.VISITOR_MARK}{visitor_hash('bob')}")
    client = django_cache._cache.get_client(write=False)
    assert list(client.scan_iter(match=pattern)) == []


def test_an_erasure_waits_for_a_merge_in_flight_into_the_erased_customer():
    """Sign-in on one device (anonymous → customer) while the customer erases on another: the
    erasure waits for the merge to commit, then deletes the merged rows too."""
    _shop()
    events_record(items=[event("A", "anon-1", event_id="anon-view", days_ago=0.2)])
    events_record(items=[event("B", "cust", event_id="cust-view", days_ago=0.2)])
    updated, release = threading.Event(), threading.Event()

    def merge():
        with transaction.atomic():
            moved = visitor_events_merge(from_visitor_id="anon-1", into_visitor_id="cust")
            updated.set()
            release.wait(20)
        return moved

    merging, merge_errors, moved = _in_thread(merge)
    assert updated.wait(20)
    erasure, erasure_errors, erased = _in_thread(lambda: visitor_erase(visitor_id="cust"))
    assert _waiting_on_the_erasure_lock()
    release.set()
    merging.join(30), erasure.join(30)

    assert not merge_errors and not erasure_errors and (moved, erased) == ([1], [2])
    assert not Event.objects.filter(visitor=visitor_hash("cust")).exists()
