"""The event import outside a caller's transaction, as the command and the worker run it: each
chunk stored on a writer thread (its own connection) while the next one is checked. Counts,
exactly-once, cancel and a failed chunk behave as when chunks are stored inline."""

import datetime as dt
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from behaviour.models import Event, EventImportJob, EventKey
from behaviour.services.imports import (
    chunks,
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_run,
    jobs,
    pipeline,
)
from tests.catalog.factories import product, write

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "order_id,occurred_at,visitor_id,sku,quantity,unit_price"


def orders(tmp_path, count: int, *, bad_every: int = 0):
    at = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0).isoformat()
    lines = [HEADER]
    for n in range(count):
        sku = "NOPE" if bad_every and n % bad_every == 0 else "A"
        lines.append(f"o{n},{at},v{n % 5},{sku},1,1.00")
    return write(tmp_path / "orders.csv", ("\n".join(lines) + "\n").encode())


def counts(job: EventImportJob) -> tuple:
    return (job.state, job.rows_done, job.accepted_count, job.duplicate_count, job.rejected_count)


def store_threads(monkeypatch) -> set[str]:
    """Names of the threads each chunk was stored on."""
    seen, store = set(), chunks.ChunkWriter._store

    def recorded(writer, rows):
        seen.add(threading.current_thread().name)
        return store(writer, rows)

    monkeypatch.setattr(chunks.ChunkWriter, "_store", recorded)
    return seen


def backends(*, at_most: int | None = None) -> int:
    """Other sessions on the test database; with `at_most`, waits (a closed connection's
    server process exits a moment after the client leaves) up to 5 s for no more than that."""
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            count = cursor.fetchone()[0]
        if at_most is None or count <= at_most or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_chunks_are_stored_on_a_writer_thread_exactly_once(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK_LINES", 7)
    threads = store_threads(monkeypatch)
    product(sku="A")
    path = orders(tmp_path, 50, bad_every=10)
    before = backends()

    job = event_import_job_run(job_id=event_import_job_create(csv_file=path, enqueue=False).pk)
    again = event_import_job_run(job_id=event_import_job_create(csv_file=path, enqueue=False).pk)

    assert counts(job) == ("succeeded", 50, 45, 0, 5)
    assert counts(again) == ("succeeded", 50, 0, 45, 5)
    assert (Event.objects.count(), EventKey.objects.count()) == (45, 45)
    assert list(job.row_errors.values_list("line", flat=True)) == [2, 12, 22, 32, 42]
    assert threads and all(name.startswith("event-import-store") for name in threads)
    # At most as many as before: a backend a previous test left may exit meanwhile, not one more.
    assert backends(at_most=before) <= before  # the writer's connection is closed, not left open


def test_progress_never_counts_a_chunk_before_it_is_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK_LINES", 10)
    product(sku="A")
    job = event_import_job_create(csv_file=orders(tmp_path, 35), enqueue=False)
    seen = []

    def progress(running):
        seen.append(running.rows_done)
        # Chunks still in flight may have committed already; counted ones always have.
        assert running.accepted_count <= Event.objects.count()

    event_import_job_run(job_id=job.pk, progress=progress)

    assert seen[-1] == 35
    assert seen == sorted(seen)


def test_a_cancel_stops_after_the_chunk_in_flight_which_commits_and_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK_LINES", 4)
    product(sku="A")
    job = event_import_job_create(csv_file=orders(tmp_path, 20), enqueue=False)

    def admin_cancels_early(running):
        if running.rows_done >= 4 and running.state == "running":
            event_import_job_cancel(job=running)

    job = event_import_job_run(job_id=job.pk, progress=admin_cancels_early)

    assert job.state == "cancelled"
    assert 4 < job.rows_done < 20
    assert job.accepted_count == job.rows_done == Event.objects.count() == EventKey.objects.count()
    assert job.error == (
        f"cancelled by an admin after {job.rows_done} of 20 lines; "
        "the events imported until then stay"
    )


def test_a_failed_chunk_raises_keeps_the_stored_ones_and_the_retry_is_exactly_once(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(jobs, "CHUNK_LINES", 4)
    product(sku="A")
    job = event_import_job_create(csv_file=orders(tmp_path, 10), enqueue=False)
    store = chunks.ChunkWriter._store

    def database_goes_away_at_the_second_chunk(writer, rows):
        # The second chunk by its lines (orders o4-o7), not by call order: two writers store
        # chunks at once, so the second call may be any chunk's.
        if any(row[5] == "o4" for row in rows):
            raise OperationalError("server closed the connection unexpectedly")
        return store(writer, rows)

    monkeypatch.setattr(chunks.ChunkWriter, "_store", database_goes_away_at_the_second_chunk)
    with pytest.raises(OperationalError):
        event_import_job_run(job_id=job.pk)
    # The first chunk, always awaited before the third is read; the third once it was handed
    # to a writer beside the failed second, which is how two writers run it.
    stored = Event.objects.count()
    assert stored in (4, 6)
    assert set(Event.objects.values_list("order_id", flat=True)) >= {"o0", "o1", "o2", "o3"}

    monkeypatch.setattr(chunks.ChunkWriter, "_store", store)  # the database is back
    job = event_import_job_run(job_id=job.pk)

    assert (job.state, job.rows_done, job.accepted_count, job.duplicate_count) == (
        "succeeded",
        10,
        10 - stored,
        stored,
    )
    assert Event.objects.count() == EventKey.objects.count() == 10


def test_inside_a_callers_transaction_chunks_are_stored_inline():
    from django.db import transaction

    writer = chunks.ChunkWriter(EventImportJob(pk=0))
    with transaction.atomic():
        assert pipeline.ChunkPipeline(EventImportJob(), writer).writers == 0
    assert pipeline.ChunkPipeline(EventImportJob(), writer).writers == 2
    assert pipeline.ChunkPipeline(EventImportJob(), writer, writers=1).writers == 1


def test_the_event_key_table_has_no_prefix_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'behaviour_eventkey'")
        names = {row[0] for row in cursor.fetchall()}
    assert names == {"behaviour_eventkey_pkey", "behaviour_eventkey_xact"}
