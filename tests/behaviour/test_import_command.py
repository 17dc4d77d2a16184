"""manage.py import_events: runs the import here with a progress bar and a summary, or hands it
to a worker with --queue; an unknown time zone or file is refused before a job exists."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from behaviour.models import Event, EventImportJob
from tests.catalog.factories import product, write

pytestmark = pytest.mark.django_db

HEADER = "order_id,occurred_at,visitor_id,sku,quantity,unit_price"


def orders(tmp_path, lines: list[str]):
    return write(tmp_path / "in" / "orders.csv", ("\n".join([HEADER, *lines]) + "\n").encode())


def at(days_ago: float = 1) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).replace(microsecond=0).isoformat()


def test_the_command_imports_and_prints_a_summary_with_each_problem(tmp_path):
    product(sku="A")
    path = orders(tmp_path, [f"o1,{at()},v1,A,2,1.50", f"o2,{at()},v1,NOPE,1,1.00"])
    out = io.StringIO()

    call_command("import_events", str(path), stdout=out, stderr=io.StringIO())

    job = EventImportJob.objects.get()
    assert out.getvalue().splitlines() == [
        f"Event import #{job.pk}: succeeded",
        "  lines: 2/2  accepted 1  duplicates 0  rejected 1",
        "  line 3 [sku] row rejected: unknown SKU 'NOPE': import the catalogue first, then this "
        "file again (its accepted lines then count as duplicates)",
    ]
    assert list(Event.objects.values_list("order_id", "quantity")) == [("o1", 2)]


def test_the_command_shows_a_progress_bar(tmp_path, capsys):
    product(sku="A")
    path = orders(tmp_path, [f"o{n},{at()},v1,A,2,1.50" for n in range(3)])

    call_command("import_events", str(path), stdout=io.StringIO())

    assert "| 3/3 [" in capsys.readouterr().err  # tqdm's bar, on the terminal's stderr


def test_the_timezone_option_applies_to_naive_times(tmp_path):
    product(sku="A")
    naive = (timezone.now() - dt.timedelta(days=200)).replace(microsecond=0, tzinfo=None)
    path = orders(tmp_path, [f"o1,{naive.isoformat(sep=' ')},v1,A,1,1.00"])

    call_command("import_events", str(path), "--timezone", "America/New_York", verbosity=0)

    assert Event.objects.get().occurred_at == naive.replace(tzinfo=ZoneInfo("America/New_York"))
    assert EventImportJob.objects.get().time_zone == "America/New_York"


def test_without_a_time_zone_naive_times_are_rejected_with_the_option_named(tmp_path):
    product(sku="A")
    path = orders(tmp_path, ["o1,2026-01-02 10:00:00,v1,A,1,1.00"])

    call_command("import_events", str(path), verbosity=0)

    assert list(EventImportJob.objects.get().row_errors.values_list("message", flat=True)) == [
        "occurred_at must carry a UTC offset (e.g. 2026-12-04T10:00:00+01:00), or import the "
        "file with the time zone of its times (--timezone)"
    ]


def test_queue_enqueues_the_job_for_a_worker(tmp_path, django_capture_on_commit_callbacks):
    path = orders(tmp_path, [f"o1,{at()},v1,A,1,1.00"])
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("import_events", str(path), "--queue", stdout=out)

    job = EventImportJob.objects.get()
    assert out.getvalue() == f"Event import #{job.pk} queued.\n"
    assert (job.state, len(callbacks)) == ("queued", 1)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus': use an IANA name"),
        (["--timezone", "../../etc/passwd"], "unknown time zone '../../etc/passwd'"),
    ],
)
def test_an_unknown_time_zone_is_refused_before_a_job_exists(tmp_path, args, error):
    path = orders(tmp_path, [])
    with pytest.raises(CommandError, match=error.replace(".", r"\.")):
        call_command("import_events", str(path), *args, verbosity=0)
    assert EventImportJob.objects.count() == 0


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_events", str(tmp_path / "nope.csv"), verbosity=0)


def test_a_failed_import_makes_the_command_fail_with_the_reason(tmp_path):
    path = write(tmp_path / "x.csv", b"InvoiceNo,StockCode\n1,2\n")
    with pytest.raises(CommandError, match=r"missing required column\(s\): occurred_at"):
        call_command("import_events", str(path), verbosity=0)


def test_ctrl_c_ends_the_job_cancelled_with_exact_counts(tmp_path, monkeypatch):
    from behaviour.services.imports import chunks, jobs

    monkeypatch.setattr(jobs, "CHUNK_LINES", 3)
    product(sku="A")
    store, calls = chunks.ChunkWriter._store, []

    def interrupted_at_the_third_chunk(writer, rows):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return store(writer, rows)

    monkeypatch.setattr(chunks.ChunkWriter, "_store", interrupted_at_the_third_chunk)
    path = orders(tmp_path, [f"o{n},{at()},v1,A,1,1.00" for n in range(10)])

    with pytest.raises(CommandError, match="interrupted after 6 of 10 lines"):
        call_command("import_events", str(path), verbosity=0)

    job = EventImportJob.objects.get()
    assert (job.state, job.rows_done, job.accepted_count) == ("cancelled", 6, 6)
    assert Event.objects.count() == 6
