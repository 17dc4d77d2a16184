"""Order and event history imports: every line accepted, duplicate or rejected with its line and
reason; the same file twice stores nothing twice; cancel, progress and interruptions."""

import datetime as dt
import hashlib
import os
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone

from behaviour.importers import ERROR_QUANTITY_NOT_POSITIVE, reader
from behaviour.models import Event, EventImportJob, EventKey
from behaviour.services import validation as v
from behaviour.services.imports import (
    ERROR_TIME_NAIVE_CSV,
    ERROR_UNKNOWN_SKU,
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_run,
    event_import_job_summary,
)
from behaviour.services.ingest import events_record
from behaviour.visitors import visitor_hash
from tests.catalog.factories import product, write

from .factories import copy_cut_short

pytestmark = pytest.mark.django_db

ORDERS_HEADER = "order_id,occurred_at,visitor_id,sku,quantity,unit_price"


def day(days_ago: float = 1) -> str:
    """An ISO time with offset, `days_ago` days back, to the second."""
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    return moment.isoformat()


def csv_file(tmp_path, lines: list[str], name: str = "orders.csv"):
    return write(tmp_path / "in" / name, ("\r\n".join(lines) + "\r\n").encode())


def run(tmp_path, lines: list[str], **create_args) -> EventImportJob:
    job = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False, **create_args)
    return event_import_job_run(job_id=job.pk)


def counts(job: EventImportJob) -> tuple:
    return (
        job.state,
        job.rows_total,
        job.rows_done,
        job.accepted_count,
        job.duplicate_count,
        job.rejected_count,
    )


def problems(job: EventImportJob) -> list[tuple]:
    return list(job.row_errors.values_list("line", "level", "column", "sku", "message"))


def test_an_order_file_becomes_purchase_events(tmp_path):
    mug = product(sku="85123A")
    cup = product(sku="71053")
    at = day(3)

    job = run(
        tmp_path,
        [ORDERS_HEADER, f"536365,{at},17850,85123A,6,2.55", f"536365,{at},17850,71053,2,3.399"],
    )

    assert counts(job) == ("succeeded", 2, 2, 2, 0, 0)
    assert (problems(job), job.attempts, job.error) == ([], 1, "")
    stored = Event.objects.order_by("product_id").values_list(
        "kind", "visitor", "product_id", "order_id", "quantity", "unit_price", "source"
    )
    hashed = visitor_hash("17850")
    assert list(stored) == [
        ("purchase", hashed, mug.pk, "536365", 6, Decimal("2.55"), "import"),
        ("purchase", hashed, cup.pk, "536365", 2, Decimal("3.40"), "import"),
    ]
    assert {e.occurred_at for e in Event.objects.all()} == {dt.datetime.fromisoformat(at)}
    assert EventKey.objects.count() == 2


def test_importing_the_same_file_again_is_all_duplicates(tmp_path):
    product(sku="A")
    product(sku="B")
    at = day(2)
    lines = [ORDERS_HEADER, f"o1,{at},v1,A,1,1.00", f"o1,{at},v1,B,1,2.00", f"o2,{at},v2,A,3,1.00"]

    first = run(tmp_path, lines)
    stored = set(Event.objects.values_list("event_id", flat=True))
    second = run(tmp_path, lines)

    assert counts(first) == ("succeeded", 3, 3, 3, 0, 0)
    assert counts(second) == ("succeeded", 3, 3, 0, 3, 0)
    assert set(Event.objects.values_list("event_id", flat=True)) == stored
    assert (Event.objects.count(), EventKey.objects.count()) == (3, 3)


def test_a_line_without_event_id_gets_a_deterministic_id_from_its_content(tmp_path):
    product(sku="A")
    at = day(2)

    run(tmp_path, [ORDERS_HEADER, f"o1,{at},v1,A,1,1.00"])

    moment = dt.datetime.fromisoformat(at).astimezone(dt.UTC).isoformat()
    key = "\x1f".join(["o1", "A", moment, visitor_hash("v1"), "purchase"])
    expected = "csv-" + hashlib.sha256(key.encode()).digest()[:16].hex()
    assert list(Event.objects.values_list("event_id", flat=True)) == [expected]


def test_identical_lines_are_separate_events_and_still_idempotent(tmp_path):
    product(sku="A")
    line = f"o1,{day(2)},v1,A,1,1.00"

    first = run(tmp_path, [ORDERS_HEADER, line, line, line])
    second = run(tmp_path, [ORDERS_HEADER, line, line, line])

    assert counts(first)[3:] == (3, 0, 0)
    assert counts(second)[3:] == (0, 3, 0)
    assert Event.objects.count() == 3


def test_an_event_id_column_is_exactly_once_with_the_api(tmp_path):
    product(sku="A")
    at = day(1)
    api = {"event_id": "web-1", "kind": "view", "sku": "A", "visitor_id": "v1", "occurred_at": at}
    events_record(items=[api])

    job = run(
        tmp_path,
        [
            "event_id,occurred_at,visitor_id,sku,kind",
            f"web-1,{at},v1,A,view",  # sent by the API already
            f"web-2,{at},v1,A,click",
            f"web-2,{at},v1,A,click",  # a repeat of the line before
        ],
    )

    assert counts(job) == ("succeeded", 3, 3, 1, 2, 0)
    assert sorted(Event.objects.values_list("event_id", "kind", "source")) == [
        ("web-1", "view", "api"),
        ("web-2", "click", "import"),
    ]


def test_kind_defaults_to_purchase_with_an_order_and_view_without(tmp_path):
    product(sku="A")
    at = day(1)

    job = run(
        tmp_path,
        [
            "occurred_at,visitor_id,sku,order_id,quantity,unit_price,kind",
            f"{at},v1,A,,,,",
            f"{at},v1,A,o1,1,1.00,",
            f"{at},v1,A,,,,add_to_cart",
        ],
    )

    assert counts(job) == ("succeeded", 3, 3, 3, 0, 0)
    assert sorted(Event.objects.values_list("kind", "order_id")) == [
        ("add_to_cart", ""),
        ("purchase", "o1"),
        ("view", ""),
    ]


def test_bad_lines_each_get_their_line_and_reason_and_good_lines_are_kept(tmp_path):
    product(sku="A")
    at = day(1)
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    old = (timezone.now() - dt.timedelta(days=500)).isoformat()

    job = run(
        tmp_path,
        [
            ORDERS_HEADER,
            f"o1,{at},v1,A,1,1.00",
            f"o2,{at},v1,NOPE,1,1.00",
            f"o3,{at},v1,A,-2,1.00",
            f"o4,{at},v1,A,0,1.00",
            f"o5,{at},v1,A,1.5,1.00",
            f"o6,{at},v1,A,1,NaN",
            "o7,2026-06-01 10:00:00,v1,A,1,1.00",
            f"o8,{future},v1,A,1,1.00",
            f"o9,{old},v1,A,1,1.00",
            "o10,yesterday,v1,A,1,1.00",
            f"o11,{at},,A,1,1.00",
            f"o12,{at},v1,,1,1.00",
            f"o13,{at},v1,A,,1.00",
            f"o14,{at},{'x' * 201},A,1,1.00",
            f"{'o' * 201},{at},v1,A,1,1.00",
            f"o16,{at},v1,A,1,1.00,extra",
            f'o17,{at},v1,"A,1,1.00',
            "",
            f"o19,{at},v2,A,2,2.00",
        ],
    )

    assert counts(job) == ("succeeded", 19, 19, 2, 0, 16)
    assert sorted(Event.objects.values_list("order_id", flat=True)) == ["o1", "o19"]
    assert problems(job) == [
        (3, "row", "sku", "NOPE", ERROR_UNKNOWN_SKU.format(sku="NOPE")),
        (4, "row", "quantity", "A", ERROR_QUANTITY_NOT_POSITIVE.format(value=-2)),
        (5, "row", "quantity", "A", ERROR_QUANTITY_NOT_POSITIVE.format(value=0)),
        (6, "row", "quantity", "A", v.ERROR_QUANTITY),
        (7, "row", "unit_price", "A", v.ERROR_PRICE),
        (8, "row", "occurred_at", "A", ERROR_TIME_NAIVE_CSV),
        (9, "row", "occurred_at", "A", v.ERROR_TIME_FUTURE),
        (10, "row", "occurred_at", "A", v.ERROR_TIME_RETENTION.format(days=400)),
        (11, "row", "occurred_at", "A", v.ERROR_TIME_FORMAT),
        (12, "row", "visitor_id", "A", "visitor_id is required"),
        (13, "row", "sku", "", "sku is required"),
        (14, "row", "", "A", v.ERROR_PURCHASE_FIELDS),
        (15, "row", "visitor_id", "A", "visitor_id is longer than 200 characters"),
        (16, "row", "order_id", "A", "order_id is longer than 200 characters"),
        (17, "row", "", "", "row has 7 fields but the header has 6"),
        (18, "row", "", "", "the line cannot be parsed as CSV: unexpected end of data"),
    ]


def last(month: int, day_of_month: int) -> dt.datetime:
    """The latest 10:00 (naive) on this date that lies more than a day in the past."""
    now = timezone.now()
    moment = dt.datetime(now.year, month, day_of_month, 10)
    if moment.replace(tzinfo=dt.UTC) > now - dt.timedelta(days=1):
        moment = moment.replace(year=now.year - 1)
    return moment


def test_naive_times_take_the_chosen_time_zone(tmp_path):
    product(sku="A")
    summer, winter = last(7, 1), last(1, 15)
    lines = [ORDERS_HEADER, f"o1,{summer:%Y-%m-%d %H:%M:%S},v1,A,1,1.00"]
    lines += [f"o2,{winter:%Y-%m-%d %H:%M:%S},v1,A,1,1.00", f"o3,{summer}+02:00,v1,A,1,1.00"]

    job = run(tmp_path, lines, time_zone="Europe/London")

    assert counts(job)[3:] == (3, 0, 0)
    assert sorted(Event.objects.values_list("order_id", "occurred_at")) == [
        ("o1", summer.replace(hour=9, tzinfo=dt.UTC)),  # British summer time: UTC+1
        ("o2", winter.replace(tzinfo=dt.UTC)),  # Greenwich mean time: UTC
        ("o3", summer.replace(hour=8, tzinfo=dt.UTC)),  # its own offset wins
    ]
    assert job.time_zone == "Europe/London"


def test_an_unknown_time_zone_is_refused_before_a_job_exists(tmp_path):
    path = csv_file(tmp_path, [ORDERS_HEADER])
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        event_import_job_create(csv_file=path, time_zone="Mars/Olympus", enqueue=False)
    assert EventImportJob.objects.count() == 0


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_storing_the_csv_cut_short_leaves_no_file_behind(tmp_path, media_root, monkeypatch, error):
    path = write(tmp_path / "in" / "orders.csv", os.urandom(200_000))  # a few chunks
    copy_cut_short(monkeypatch, error)

    with pytest.raises(type(error)):
        event_import_job_create(csv_file=path, enqueue=False)

    # The part written stayed in media for good: no job names it.
    assert (EventImportJob.objects.count(), stored_files(media_root)) == (0, [])


def test_a_job_that_cannot_be_saved_leaves_no_stored_csv(tmp_path, media_root, monkeypatch):
    def database_gone(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(EventImportJob, "save", database_gone)

    with pytest.raises(OperationalError):
        event_import_job_create(csv_file=csv_file(tmp_path, [ORDERS_HEADER]), enqueue=False)

    assert stored_files(media_root) == []  # the stored CSV (raw visitor ids) was left


def test_a_queued_csv_over_the_csv_cap_fails_its_job_with_the_reason(tmp_path, settings):
    # Queued before the cap was lowered (or by an older version): the worker checks it again.
    product(sku="A")
    path = csv_file(tmp_path, [ORDERS_HEADER, *(f"o{n},{day()},v{n},A,1,2.50" for n in range(9))])
    job = event_import_job_create(csv_file=path, enqueue=False)
    settings.PRODSIM_MAX_CSV_BYTES = 200

    job = event_import_job_run(job_id=job.pk)

    size = path.stat().st_size
    assert (job.state, job.error) == (
        "failed",
        f"the CSV file is {size} bytes, larger than PRODSIM_MAX_CSV_BYTES (200)",
    )
    assert Event.objects.count() == 0


def test_a_header_without_required_columns_fails_the_job_with_the_reason(tmp_path):
    job = run(tmp_path, ["InvoiceNo,StockCode,Quantity", "536365,85123A,6"])

    assert (job.state, job.error) == (
        "failed",
        "missing required column(s): occurred_at, visitor_id, sku",
    )
    assert Event.objects.count() == 0


def test_a_file_of_carriage_returns_alone_fails_the_job_with_the_reason(tmp_path):
    """An old Mac CSV reads as one line: its rows passed as header cells, the job succeeded."""
    path = write(tmp_path / "mac.csv", f"{ORDERS_HEADER}\ro1,{day(1)},anna,A,1,1.00\r".encode())
    job = event_import_job_run(job_id=event_import_job_create(csv_file=path, enqueue=False).pk)

    assert (job.state, job.error) == ("failed", reader.ERROR_CR_ONLY)
    assert not job.row_errors.exists()  # nor a shopper id kept unhashed in a warning


def test_progress_is_written_after_every_chunk(tmp_path, monkeypatch):
    from behaviour.services.imports import jobs

    monkeypatch.setattr(jobs, "CHUNK_LINES", 2)
    product(sku="A")
    at = day(1)
    lines = [ORDERS_HEADER, *[f"o{n},{at},v1,A,1,1.00" for n in range(4)], f"o9,{at},v1,B,1,1.00"]
    seen = []

    job = event_import_job_create(csv_file=csv_file(tmp_path, lines), enqueue=False)
    job = event_import_job_run(job_id=job.pk, progress=lambda job: seen.append(counts(job)))

    assert seen == [
        ("running", 5, 0, 0, 0, 0),  # the total, before any line
        ("running", 5, 2, 2, 0, 0),
        ("running", 5, 4, 4, 0, 0),
        ("running", 5, 5, 4, 0, 1),
        ("running", 5, 5, 4, 0, 1),  # the last write, then the job ends
    ]
    assert counts(job) == ("succeeded", 5, 5, 4, 0, 1)


# --- Cancelling and interruptions ---------------------------------------------------------------


def _lines(count: int) -> list[str]:
    at = day(1)
    return [ORDERS_HEADER, *[f"o{n},{at},v1,A,1,1.00" for n in range(count)]]


def test_a_queued_import_cancelled_never_reads_a_line(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    product(sku="A")
    job = event_import_job_create(csv_file=csv_file(tmp_path, _lines(3)), enqueue=False)
    stored = media_root / job.csv_file.name
    assert stored.exists()

    with django_capture_on_commit_callbacks(execute=True):
        job = event_import_job_cancel(job=job)

    assert not stored.exists()  # its raw visitor ids go with it
    assert EventImportJob.objects.get(pk=job.pk).csv_file.name == ""
    assert (job.state, job.error) == (
        "cancelled",
        "cancelled by an admin before it started; nothing was imported",
    )
    job = event_import_job_run(job_id=job.pk)  # the worker's delivery arrives later

    assert (job.state, job.attempts, job.rows_done) == ("cancelled", 0, 0)
    assert Event.objects.count() == 0


def test_a_running_import_stops_after_the_chunk_in_flight_keeping_it(tmp_path, monkeypatch):
    from behaviour.services.imports import jobs

    monkeypatch.setattr(jobs, "CHUNK_LINES", 4)
    product(sku="A")
    job = event_import_job_create(csv_file=csv_file(tmp_path, _lines(10)), enqueue=False)

    def admin_cancels_after_first_chunk(running):
        if running.rows_done == 4:
            assert event_import_job_cancel(job=running).state == "running"  # asked, not stopped

    job = event_import_job_run(job_id=job.pk, progress=admin_cancels_after_first_chunk)

    assert counts(job) == ("cancelled", 10, 4, 4, 0, 0)
    assert job.error == (
        "cancelled by an admin after 4 of 10 lines; the events imported until then stay"
    )
    assert Event.objects.count() == 4
    assert event_import_job_cancel(job=job).state == "cancelled"  # a finished job stays


def test_an_interrupted_import_run_again_counts_the_stored_chunks_as_duplicates(
    tmp_path, monkeypatch
):
    from behaviour.services.imports import chunks, jobs

    monkeypatch.setattr(jobs, "CHUNK_LINES", 4)
    product(sku="A")
    job = event_import_job_create(csv_file=csv_file(tmp_path, _lines(10)), enqueue=False)
    store, calls = chunks.ChunkWriter._store, []

    def database_goes_away_at_the_second_chunk(writer, rows):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return store(writer, rows)

    monkeypatch.setattr(chunks.ChunkWriter, "_store", database_goes_away_at_the_second_chunk)
    with pytest.raises(OperationalError):  # the task's retry policy takes it from here
        event_import_job_run(job_id=job.pk)
    assert Event.objects.count() == 4

    job = event_import_job_run(job_id=job.pk)  # the retry

    assert counts(job) == ("succeeded", 10, 10, 6, 4, 0)
    assert (job.attempts, Event.objects.count()) == (2, 10)
    # The report says why a first import's lines show as duplicates.
    assert "run 2 times (interrupted before)" in event_import_job_summary(job)
    assert "run 1 times" not in event_import_job_summary(run(tmp_path, _lines(2)))


def test_an_import_interrupted_too_often_fails_instead_of_running_forever(tmp_path, settings):
    settings.PRODSIM_IMPORT_MAX_ATTEMPTS = 2
    product(sku="A")
    job = event_import_job_create(csv_file=csv_file(tmp_path, _lines(3)), enqueue=False)
    EventImportJob.objects.filter(pk=job.pk).update(state="running", attempts=2)

    job = event_import_job_run(job_id=job.pk)

    assert (job.state, job.attempts) == ("failed", 3)
    assert job.error == "the import was interrupted 2 times and is not retried again"
    assert Event.objects.count() == 0


def test_a_job_whose_file_is_gone_fails_with_the_reason(tmp_path):
    job = event_import_job_create(csv_file=csv_file(tmp_path, _lines(1)), enqueue=False)
    job.csv_file.storage.delete(job.csv_file.name)

    job = event_import_job_run(job_id=job.pk)

    assert (job.state, job.error) == ("failed", "the uploaded CSV file is no longer in storage")


def test_past_the_listing_limit_rejections_are_counted_and_summed_up(tmp_path, monkeypatch):
    from behaviour.services.imports import chunks

    monkeypatch.setattr(chunks, "MAX_LISTED_PROBLEMS", 2)
    at = day(1)

    job = run(tmp_path, [ORDERS_HEADER, *[f"o{n},{at},v1,NOPE,1,1.00" for n in range(5)]])

    assert counts(job) == ("succeeded", 5, 5, 0, 0, 5)
    assert [(line, level, message) for line, level, _, _, message in problems(job)] == [
        (2, "row", ERROR_UNKNOWN_SKU.format(sku="NOPE")),
        (3, "row", ERROR_UNKNOWN_SKU.format(sku="NOPE")),
        (4, "warning", "3 more rejected line(s) from here on are counted but not listed"),
    ]


def test_the_enqueued_task_name_is_a_registered_task():
    from behaviour.services.imports import jobs
    from core.tasks import _registered_task

    assert _registered_task(jobs.IMPORT_TASK).name == "behaviour.tasks.events_import_task"


def test_the_uploaded_file_with_raw_visitor_ids_is_deleted_when_the_import_ends(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    product(sku="A")
    job = event_import_job_create(
        csv_file=csv_file(tmp_path, [ORDERS_HEADER, f"o1,{day(1)},alice,A,1,1.00"]),
        enqueue=False,
    )
    stored = media_root / job.csv_file.name
    assert stored.read_text().count("alice") == 1

    with django_capture_on_commit_callbacks(execute=True):
        job = event_import_job_run(job_id=job.pk)

    assert (job.state, job.accepted_count) == ("succeeded", 1)
    assert not stored.exists()
    assert EventImportJob.objects.get(pk=job.pk).csv_file.name == ""


def test_an_id_repeated_in_a_file_belongs_to_its_first_line_that_passes_every_check(tmp_path):
    """A line refused for its SKU, or as an erased shopper's, does not take its id from a valid
    line after it (that line was counted a duplicate of an event never stored)."""
    from behaviour.services.visitors import visitor_erase

    product(sku="A")
    visitor_erase(visitor_id="alice")
    at = day()
    job = run(
        tmp_path,
        [
            "event_id,occurred_at,visitor_id,sku",
            f"x1,{at},bob,NOPE",
            f"x1,{at},bob,A",
            f"x2,{day(2)},alice,A",  # dated before alice's erasure
            f"x2,{at},carl,A",
            f"x2,{at},carl,A",
        ],
    )

    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["x1", "x2"]
    assert (job.accepted_count, job.duplicate_count, job.rejected_count) == (2, 1, 2)
