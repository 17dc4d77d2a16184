"""Retention never holds up event writes: a partition's DROP needs the event table exclusively,
and queued behind a long reader (a full refresh, minutes on a real shop) it held up every event
write queued behind it. Now it gives up after a moment; the rows go by DELETE, the empty
partition another day."""

import datetime as dt
import threading
import time

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from behaviour import partitions
from behaviour.models import Event
from behaviour.services.ingest import events_record
from behaviour.services.retention import events_retention_enforce
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db(transaction=True)  # a second connection reads meanwhile


def reading_the_events_until(done: threading.Event) -> threading.Thread:
    """A reader (what a refresh is to the table) inside an open transaction, until `done`."""
    reading = threading.Event()

    def read():
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT count(*) FROM {partitions.PARENT}")
                reading.set()
                done.wait(30)
                cursor.execute("COMMIT")
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    assert reading.wait(30)
    return reader


def test_retention_beside_a_long_reader_deletes_the_rows_and_leaves_the_partition(settings):
    product(sku="A")
    events_record(items=[event("A", days_ago=100), event("A", days_ago=1)])
    settings.PRODSIM_EVENT_RETENTION_DAYS = 60
    partitions_before = partitions.partitions_list()
    done = threading.Event()
    reading_the_events_until(done)
    try:
        started = time.monotonic()
        gone = events_retention_enforce()
        took = time.monotonic() - started
        written = time.monotonic()
        events_record(items=[event("A", days_ago=0.01)])  # a shopper's event meanwhile
        write_took = time.monotonic() - written
    finally:
        done.set()

    assert (gone["partitions"], gone["events"]) == ([], 1)
    assert took < 5 and write_took < 5  # waiting for the reader would take its 30 s
    assert Event.objects.count() == 2
    assert partitions.partitions_list() == partitions_before


def test_the_partition_left_behind_goes_at_the_next_run(settings):
    product(sku="A")
    events_record(items=[event("A", days_ago=100), event("A", days_ago=1)])
    settings.PRODSIM_EVENT_RETENTION_DAYS = 60
    done = threading.Event()
    reader = reading_the_events_until(done)
    try:
        events_retention_enforce()
    finally:
        done.set()
    reader.join(30)

    gone = events_retention_enforce()

    left_behind = partitions.partition_name(
        partitions.month_start(timezone.now() - dt.timedelta(days=100))
    )
    assert left_behind in gone["partitions"] and gone["events"] == 0
    assert left_behind not in [name for name, _ in partitions.partitions_list()]


def test_the_daily_run_makes_next_months_partition_before_its_first_event():
    """Made by the month's first event, the partition's CREATE waited inside that write for any
    long reader (a backup's pg_dump, a full refresh), and every event write queued behind it:
    product pages hung at midnight on the 1st."""
    today = timezone.now().date()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    name = partitions.partition_name(next_month)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")

    gone = events_retention_enforce()

    assert name in gone["partitions_created"]
    assert name in {existing for existing, _ in partitions.partitions_list()}
    assert events_retention_enforce()["partitions_created"] == []  # made once


def test_making_a_partition_ahead_beside_a_long_reader_gives_up_at_once():
    today = timezone.now().date()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    name = partitions.partition_name(next_month)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    done = threading.Event()
    reading_the_events_until(done)
    try:
        started = time.monotonic()
        created = partitions.partitions_ahead(today, lock_timeout_ms=200)
        took = time.monotonic() - started
    finally:
        done.set()

    assert name not in created and took < 5  # waiting for the reader would take its 30 s


def test_an_import_makes_an_older_month_beside_a_long_reader_without_queueing_event_writes():
    """A history's older month was made inside the import's chunk with no wait limit: behind a
    long reader its CREATE queued, and every event write (a shopper's page view) behind it; its
    advisory lock, outside a transaction, also ended before the CREATE it was to guard."""
    product(sku="A")
    events_record(items=[event("A", days_ago=0.01)])  # this month's partition exists
    month = dt.date(2001, 1, 1)
    name = partitions.partition_name(month)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    done, writes = threading.Event(), []

    def a_shoppers_event_while_it_tries():
        try:
            time.sleep(0.3)  # the creation waits for the reader by now
            started = time.monotonic()
            events_record(items=[event("A", days_ago=0.01)])
            writes.append(time.monotonic() - started)
        finally:
            connections.close_all()

    reader = reading_the_events_until(done)
    writer = threading.Thread(target=a_shoppers_event_while_it_tries)
    try:
        started = time.monotonic()
        writer.start()
        with pytest.raises(OperationalError, match=f"through 5 tries to create {name}"):
            partitions.partitions_ensure_beside_readers(
                [month], lock_timeout_ms=200, tries=5, pause_s=0.1
            )
        took = time.monotonic() - started
        writer.join(30)
    finally:
        done.set()
    reader.join(30)
    write_took = writes[0]

    assert took < 5 and write_took < 5  # waiting for the reader would take its 30 s
    assert name not in {existing for existing, _ in partitions.partitions_list()}
    partitions.partitions_ensure_beside_readers([month], lock_timeout_ms=200, tries=3, pause_s=0)
    assert name in {existing for existing, _ in partitions.partitions_list()}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")
