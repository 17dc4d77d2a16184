"""Recording events: exactly once, each bad one rejected with its reason, the rest kept."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from behaviour.models import Event, EventKey
from behaviour.services import validation as v
from behaviour.services.erasure_guard import ERROR_ERASED
from behaviour.services.ingest import events_record
from behaviour.visitors import (
    ERROR_VISITOR_CONTROL,
    ERROR_VISITOR_RESERVED,
    ERROR_VISITOR_TOO_LONG,
    ReservedVisitorId,
    visitor_hash,
)
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db


def statuses(outcomes) -> list[tuple[str, str]]:
    return [(o.status, o.reason) for o in outcomes]


def test_a_batch_is_stored_once_and_a_resent_batch_is_all_duplicates():
    product(sku="A")
    batch = [event("A", "alice"), event("A", "bob", "purchase")]

    first = events_record(items=batch)
    again = events_record(items=batch)

    assert statuses(first) == [("accepted", ""), ("accepted", "")]
    assert statuses(again) == [("duplicate", ""), ("duplicate", "")]
    assert Event.objects.count() == 2
    assert EventKey.objects.count() == 2


def test_visitor_ids_are_stored_only_as_their_hmac():
    product(sku="A")
    events_record(items=[event("A", "alice@example.com")])

    stored = Event.objects.get()
    assert stored.visitor == visitor_hash("alice@example.com")
    assert len(stored.visitor) == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM behaviour_event WHERE visitor LIKE %s", ["%alice%"])
        assert cursor.fetchone()[0] == 0


def test_only_the_storefront_may_send_an_id_of_its_customers_namespace():
    product(sku="A")
    customer = "storefront-customer:7"

    sent = events_record(items=[event("A", customer), event("A", f" {customer} ")])
    own = events_record(items=[event("A", ReservedVisitorId(customer))])

    assert statuses(sent) == [("rejected", ERROR_VISITOR_RESERVED)] * 2
    assert statuses(own) == [("accepted", "")]
    assert Event.objects.get().visitor == visitor_hash(ReservedVisitorId(customer))


def test_each_bad_event_gets_its_reason_and_the_good_ones_are_kept():
    product(sku="A")
    now = timezone.now()
    good = event("A")
    bad = [
        "not an object",
        {**event("A"), "kind": "like"},
        {**event("A"), "occurred_at": "2026-12-01T10:00:00"},
        {**event("A"), "occurred_at": (now + dt.timedelta(days=2)).isoformat()},
        {**event("A"), "occurred_at": (now - dt.timedelta(days=500)).isoformat()},
        {**event("A"), "occurred_at": "yesterday"},
        {**event("A", kind="purchase"), "quantity": -1},
        {**event("A", kind="purchase"), "unit_price": "NaN"},
        {**event("A", kind="purchase"), "unit_price": -5},
        {**event("A"), "visitor_id": "a\x00b"},
        {**event("A"), "visitor_id": "tab\there"},
        {**event("A"), "visitor_id": "x" * 201},
        {**event("A"), "sku": "NOPE"},
        {**event("A", kind="purchase"), "order_id": None},
        {**good},  # the same event_id again in this batch
    ]

    outcomes = events_record(items=[good, *bad])

    assert statuses(outcomes) == [
        ("accepted", ""),
        ("rejected", v.ERROR_NOT_OBJECT),
        ("rejected", v.ERROR_KIND),
        ("rejected", v.ERROR_TIME_NAIVE),
        ("rejected", v.ERROR_TIME_FUTURE),
        ("rejected", v.ERROR_TIME_RETENTION.format(days=400)),
        ("rejected", v.ERROR_TIME_FORMAT),
        ("rejected", v.ERROR_QUANTITY),
        ("rejected", v.ERROR_PRICE),
        ("rejected", v.ERROR_PRICE),
        ("rejected", v.ERROR_TEXT.format(field="visitor_id")),
        ("rejected", ERROR_VISITOR_CONTROL),
        ("rejected", ERROR_VISITOR_TOO_LONG),
        ("rejected", v.ERROR_UNKNOWN_SKU.format(sku="NOPE")),
        ("rejected", v.ERROR_PURCHASE_FIELDS),
        ("rejected", v.ERROR_REPEATED),
    ]
    assert Event.objects.count() == 1


def test_events_of_two_months_land_in_their_monthly_partitions():
    product(sku="A")
    events_record(items=[event("A", days_ago=1), event("A", days_ago=40)])

    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM behaviour_event ORDER BY occurred_at")
        names = [row[0] for row in cursor.fetchall()]
    assert len(set(names)) == 2
    assert all(name.startswith("behaviour_event_y") for name in names)


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_sent_at_once_are_stored_exactly_once():
    product(sku="A")
    batch = [event("A", f"v{i}") for i in range(50)]
    results = []

    def send():
        results.append(events_record(items=batch))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = sorted(sum(o.status == "accepted" for o in outcomes) for outcomes in results)
    assert accepted == [0, 50]
    assert Event.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_a_batch_takes_its_ids_in_one_order_so_another_writer_cannot_deadlock_it():
    # Another writer (an import chunk, which takes its ids in byte order, or another batch)
    # holds id "a" and next takes "b". A batch listing b before a took b, then waited for a:
    # each waited for the other, and PostgreSQL aborted one of them as a deadlock.
    product(sku="A")
    batch = [event("A", "v1", event_id="b"), event("A", "v2", event_id="a")]
    results, errors = [], []

    def send():
        try:
            results.append(events_record(items=batch))
        except Exception as exc:  # noqa: BLE001 - the test reports whichever side was aborted
            errors.append(exc)
        finally:
            connection.close()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(KEY_INSERT, ["a"])
        sender = threading.Thread(target=send)
        sender.start()
        waited = _until_a_lock_is_waited_for(cursor)
        try:
            cursor.execute(KEY_INSERT, ["b"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        transaction.set_rollback(True)  # the other writer gives up: the batch takes both
    sender.join()

    assert waited and errors == []
    assert statuses(results[0]) == [("accepted", ""), ("accepted", "")]


ID_WAITED = (  # this database's sessions only: concurrent runs share the server
    "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND "
    "pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
)
KEY_INSERT = (
    "INSERT INTO behaviour_eventkey (event_id, occurred_at, received_at) VALUES (%s, now(), now())"
)


def _until_a_lock_is_waited_for(cursor, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # The sender waiting for the transaction that holds the id (none other waits here).
        cursor.execute(ID_WAITED)
        if cursor.fetchone()[0]:
            return True
        time.sleep(0.02)
    return False


def test_an_id_repeated_in_a_batch_belongs_to_its_first_use_that_passes_every_check():
    """A first use refused for its SKU, or as an erased shopper's, does not make the valid event
    that repeats its id a repeat: that event would be lost."""
    from behaviour.services.visitors import visitor_erase

    product(sku="A")
    visitor_erase(visitor_id="alice")
    items = [
        event("NOPE", "bob", event_id="x1"),  # unknown SKU
        event("A", "bob", event_id="x1"),
        event("A", "alice", event_id="x2"),  # dated before alice's erasure
        event("A", "carl", event_id="x2"),
        event("A", "carl", event_id="x2"),  # a true repeat
    ]

    outcomes = events_record(items=items)

    assert statuses(outcomes) == [
        ("rejected", v.ERROR_UNKNOWN_SKU.format(sku="NOPE")),
        ("accepted", ""),
        ("rejected", ERROR_ERASED),
        ("accepted", ""),
        ("rejected", v.ERROR_REPEATED),
    ]
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["x1", "x2"]


def test_an_event_id_with_spaces_around_is_the_id_a_csv_cell_gives():
    product(sku="A")

    first = events_record(items=[event("A", event_id=" e-77 ")])
    again = events_record(items=[event("A", event_id="e-77")])

    assert (first[0].status, again[0].status) == ("accepted", "duplicate")
    assert EventKey.objects.filter(event_id="e-77").exists()
