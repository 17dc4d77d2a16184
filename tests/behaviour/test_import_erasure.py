"""An erasure while an event history import runs, or before a file holding the erased shopper's
lines is imported (again): their lines from before the erasure are rejected, each listed with
why; later lines are a new history."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.models import Event, EventImportRowError, EventKey
from behaviour.services.erasure_guard import ERROR_ERASED
from behaviour.services.imports import event_import_job_create, event_import_job_run
from behaviour.services.imports import jobs as import_jobs
from behaviour.services.visitors import visitor_erase
from behaviour.visitors import visitor_hash
from tests.catalog.factories import product, write

HEADER = "order_id,occurred_at,visitor_id,sku,quantity,unit_price"


def day(days_ago: float) -> str:
    return (timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)).isoformat()


def csv_file(tmp_path, lines: list[str]):
    return write(tmp_path / "in" / "orders.csv", ("\r\n".join([HEADER, *lines]) + "\r\n").encode())


def rejected_lines(job) -> list[tuple[int, str, str]]:
    rows = EventImportRowError.objects.filter(job=job).order_by("line")
    return list(rows.values_list("line", "sku", "message"))


@pytest.mark.django_db(transaction=True)
def test_lines_read_after_the_erasure_are_not_stored(tmp_path, monkeypatch):
    """The shopper is erased after the first chunk committed: the erasure deletes it, and the
    later chunks' lines of the shopper are rejected instead of stored again."""
    product(sku="A"), product(sku="B")
    lines = [f"o{n},{day(3 - n / 10)},carol,{'AB'[n % 2]},1,1.00" for n in range(6)]
    monkeypatch.setattr(import_jobs, "CHUNK_LINES", 2)  # small chunks, as 5,000 of a big file
    monkeypatch.setattr(import_jobs, "STORE_WRITERS", 0)  # inline: a deterministic order
    erased = []

    def progress(job):
        if job.rows_done and not erased:  # the shopper asks to be erased (API or storefront)
            erased.append(visitor_erase(visitor_id="carol"))

    job = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False)
    job = event_import_job_run(job_id=job.pk, progress=progress)

    assert job.state == "succeeded" and erased == [2]
    assert (job.accepted_count, job.rejected_count) == (2, 4)
    assert not Event.objects.filter(visitor=visitor_hash("carol")).exists()
    assert rejected_lines(job) == [(n, "AB"[n % 2], ERROR_ERASED) for n in range(4, 8)]


@pytest.mark.django_db(transaction=True)  # writer threads store only outside a transaction
@pytest.mark.parametrize("writers", [0, 2])
def test_a_file_imported_after_the_erasure_keeps_only_the_new_history(
    tmp_path, monkeypatch, writers
):
    """A queued or re-run import of a file with the erased shopper's lines: those from before the
    erasure are rejected, a later one (the shopper came back) and other shoppers' are stored."""
    product(sku="A")
    monkeypatch.setattr(import_jobs, "STORE_WRITERS", writers)
    visitor_erase(visitor_id="carol")
    later = (timezone.now() + dt.timedelta(seconds=1)).isoformat()
    lines = [
        f"o1,{day(2)},carol,A,1,1.00",
        f"o2,{day(2)},dan,A,1,1.00",
        f"o3,{later},carol,A,1,1.00",
    ]

    job = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False)
    job = event_import_job_run(job_id=job.pk)

    assert (job.accepted_count, job.duplicate_count, job.rejected_count) == (2, 0, 1)
    assert rejected_lines(job) == [(2, "A", ERROR_ERASED)]
    assert Event.objects.filter(visitor=visitor_hash("carol")).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_erasure_deletes_the_keys_derived_from_the_shoppers_lines(tmp_path):
    """A line without an event_id gets a key digesting the visitor's hash with its order, SKU
    and time: kept after the erasure, it would confirm the erased purchase to whoever holds the
    visitor key. The erasure deletes those keys; the tombstone refuses the lines if the file
    comes again, and the other shopper's lines stay duplicates."""
    product(sku="A")
    lines = [f"o1,{day(2)},carol,A,1,1.00", f"o2,{day(2)},dan,A,1,1.00"]
    first = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False)
    event_import_job_run(job_id=first.pk)
    dans_key = Event.objects.get(visitor=visitor_hash("dan")).event_id

    visitor_erase(visitor_id="carol")

    assert list(EventKey.objects.values_list("event_id", flat=True)) == [dans_key]
    again = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False)
    again = event_import_job_run(job_id=again.pk)
    assert (again.accepted_count, again.duplicate_count, again.rejected_count) == (0, 1, 1)
    assert rejected_lines(again) == [(2, "A", ERROR_ERASED)]
