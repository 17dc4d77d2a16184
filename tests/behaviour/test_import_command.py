"""manage.py import_events: runs the import here with a progress bar and a summary, or hands it
to a worker with --queue; an unknown time zone or file is refused before a job exists."""

import dataclasses
import datetime as dt
import io
import os
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from behaviour.models import Event, EventImportJob
from core.jobs.foreground import ERROR_NOTHING_KEPT
from tests.catalog.factories import product, write

from .factories import copy_cut_short

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

    with pytest.raises(CommandError) as nothing_kept:  # every line rejected: a cron job sees it
        call_command("import_events", str(path), verbosity=0)

    assert str(nothing_kept.value) == ERROR_NOTHING_KEPT.format(rejected=1)
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


def test_a_csv_over_the_csv_cap_is_refused_before_a_job_exists(tmp_path, settings, media_root):
    # PRODSIM_MAX_CSV_BYTES bounded catalogue CSVs only: any event history was read and stored.
    product(sku="A")
    path = orders(tmp_path, [f"o{n},{at()},v{n},A,1,1.50" for n in range(40)])
    settings.PRODSIM_MAX_CSV_BYTES = 200
    size = path.stat().st_size

    error = f"the CSV file is {size} bytes, larger than PRODSIM_MAX_CSV_BYTES (200)"
    with pytest.raises(CommandError, match=rf"^{re.escape(error)}$"):
        call_command("import_events", str(path), verbosity=0)

    assert (EventImportJob.objects.count(), Event.objects.count()) == (0, 0)
    assert [p for p in media_root.rglob("*") if p.is_file()] == []  # nothing copied


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


def test_a_naive_year_one_time_east_of_greenwich_is_one_rejected_line(tmp_path):
    # Berlin's 0001-01-01 00:00 is 31 December of year 0 in UTC: no such datetime.
    product(sku="A")
    path = orders(tmp_path, [f"o1,{at()},v1,A,2,1.50", "o2,0001-01-01 00:00:00,v1,A,1,1.00"])

    call_command("import_events", str(path), "--timezone", "Europe/Berlin", verbosity=0)

    job = EventImportJob.objects.get()
    assert (job.state, job.accepted_count, job.rejected_count) == ("succeeded", 1, 1)


def test_an_unexpected_error_fails_the_job_with_its_name_and_deletes_the_file(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from behaviour.services.imports import chunks

    def broken(writer, rows):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(chunks.ChunkWriter, "_store", broken)
    product(sku="A")
    path = orders(tmp_path, [f"o1,{at()},v1,A,1,1.00"])

    failed = pytest.raises(CommandError, match=r"unexpected error \(OverflowError\)")
    with django_capture_on_commit_callbacks(execute=True), failed:
        call_command("import_events", str(path), verbosity=0)

    job = EventImportJob.objects.get()
    assert (job.state, job.csv_file.name) == ("failed", "")
    assert job.error.startswith("stopped by an unexpected error (OverflowError) after")


def test_an_error_outside_the_run_still_ends_the_job_failed(tmp_path, monkeypatch):
    """Whatever escapes the run (here: the claim), the job must not stay `running` for the
    reaper to hand to a worker that fails the same way."""
    from behaviour.management.commands import import_events
    from behaviour.services.imports import event_import_job_run

    def claim_then_crash(*, job_id, progress=None):
        EventImportJob.objects.filter(pk=job_id).update(state="running", attempts=1)
        raise RuntimeError("the claim broke")

    steps = dataclasses.replace(import_events.IMPORT_STEPS, run=claim_then_crash)
    monkeypatch.setattr(import_events, "IMPORT_STEPS", steps)
    product(sku="A")
    path = orders(tmp_path, [f"o1,{at()},v1,A,1,1.00"])

    with pytest.raises(CommandError, match=r"import #\d+: the import stopped on an unexpected"):
        call_command("import_events", str(path), verbosity=0)

    job = EventImportJob.objects.get()
    assert (job.state, job.csv_file.name) == ("failed", "")
    assert event_import_job_run(job_id=job.pk).state == "failed"  # a late delivery: nothing to do


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (KeyboardInterrupt(), "interrupted while the import's files were stored; no import"),
        (OSError(28, "No space left on device"), "files could not be stored: .*No space left"),
    ],
)
def test_storing_the_csv_cut_short_is_a_command_error_that_leaves_nothing(
    tmp_path, media_root, monkeypatch, error, message
):
    path = write(tmp_path / "in" / "orders.csv", os.urandom(200_000))  # a few chunks
    copy_cut_short(monkeypatch, error)

    # Was a raw traceback (exit status 1 only for a CommandError), and the part copied stayed.
    with pytest.raises(CommandError, match=message):
        try:
            call_command("import_events", str(path), verbosity=0)
        except KeyboardInterrupt:  # caught: escaping, it would stop the whole test run
            pytest.fail("Ctrl-C escaped the command as KeyboardInterrupt")

    assert not EventImportJob.objects.exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_a_folder_given_as_the_csv_is_refused(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_events", str(tmp_path), verbosity=0)


def test_a_problems_file_in_a_missing_folder_is_refused_before_a_job_exists(tmp_path):
    path = orders(tmp_path, [f"o1,{at()},v1,A,1,1.00"])

    with pytest.raises(CommandError, match="--problems-csv: the folder .* does not exist"):
        call_command(
            "import_events",
            str(path),
            "--problems-csv",
            str(tmp_path / "no" / "p.csv"),
            verbosity=0,
        )
    assert not EventImportJob.objects.exists()


def test_a_folder_as_the_problems_file_is_refused_before_a_job_exists(tmp_path):
    path = orders(tmp_path, [f"o1,{at()},v1,A,1,1.00"])

    with pytest.raises(CommandError, match="--problems-csv: .* is a folder; name the file"):
        call_command("import_events", str(path), "--problems-csv", str(tmp_path), verbosity=0)
    assert not EventImportJob.objects.exists()
