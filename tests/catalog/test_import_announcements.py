"""An import announces the products it wrote however it ends (catalog.changes): also when the
attempts that wrote them were killed and the job then ends without running again (a claim past
its attempts, a cancel while requeued, the worker parent's hard time limit), and only once when
its own work announced them as it stopped (the soft time limit)."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from catalog import changes
from catalog.models import ImportJob, Product
from catalog.services import import_job_cancel, import_job_create, import_job_run, imports
from catalog.services.imports import import_job_time_out
from catalog.tasks import catalogue_import_task
from core.jobs.delivery import job_delivery

from .factories import Killed, csv_bytes, product, stops_after_rows, write

pytestmark = pytest.mark.django_db

ROWS = [{"sku": f"S{i}", "title": f"Mug {i}", "price": "9.90", "currency": "EUR"} for i in range(5)]


@pytest.fixture
def announced(monkeypatch) -> list[list[int]]:
    calls: list[list[int]] = []
    monkeypatch.setattr(
        changes, "catalogue_changed", lambda *, product_ids: calls.append(sorted(product_ids))
    )
    return calls


def killed_attempt(tmp_path, monkeypatch, announced) -> ImportJob:
    """A job whose first attempt wrote two products and died, announcing nothing."""
    product(sku="BEFORE")  # written before the job: never announced as the job's
    job = import_job_create(csv_file=write(tmp_path / "c.csv", csv_bytes(ROWS)), enqueue=False)
    real_row = stops_after_rows(monkeypatch, Killed())
    with pytest.raises(Killed):
        import_job_run(job_id=job.pk)
    announced.clear()  # a killed process runs no `finally`
    monkeypatch.setattr(imports, "_import_row", real_row)
    return job


def written() -> list[int]:
    return sorted(Product.objects.exclude(sku="BEFORE").values_list("pk", flat=True))


def test_an_import_that_gives_up_after_killed_attempts_announces_what_they_wrote(
    tmp_path, monkeypatch, settings, announced
):
    settings.PRODSIM_IMPORT_MAX_ATTEMPTS = 1
    job = killed_attempt(tmp_path, monkeypatch, announced)

    job = import_job_run(job_id=job.pk)  # the reaper's delivery: past the bound

    assert (job.state, job.attempts, len(written())) == ("failed", 2, 2)
    assert announced == [written()]


def test_an_import_cancelled_while_requeued_announces_what_its_killed_attempt_wrote(
    tmp_path, monkeypatch, announced
):
    job = killed_attempt(tmp_path, monkeypatch, announced)
    import_job_cancel(job=job)

    job = import_job_run(job_id=job.pk)

    assert (job.state, job.rows_done) == ("cancelled", 0)
    assert announced == [written()]


def test_the_hard_time_limit_announces_what_the_killed_child_wrote(
    tmp_path, monkeypatch, announced
):
    job = killed_attempt(tmp_path, monkeypatch, announced)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_worker="host:42")

    with job_delivery(worker="host:42"):  # the worker parent, for the child it timed out
        job = import_job_time_out(job_id=job.pk, seconds=3 * 3600 + 300)

    assert job.state == "failed"
    assert announced == [written()]


def test_the_soft_time_limit_announces_once_as_the_work_stops(tmp_path, monkeypatch, announced):
    job = import_job_create(csv_file=write(tmp_path / "c.csv", csv_bytes(ROWS)), enqueue=False)
    stops_after_rows(monkeypatch, SoftTimeLimitExceeded())

    catalogue_import_task.apply(args=[job.pk])

    job.refresh_from_db()
    assert (job.state, len(written())) == ("failed", 2)
    assert announced == [written()]  # by catalogue_import's `finally`, not again by its end


def test_a_job_ended_at_its_first_claim_announces_nothing(tmp_path, settings, announced):
    settings.PRODSIM_IMPORT_MAX_ATTEMPTS = 0  # ends at once, before any row
    job = import_job_create(csv_file=write(tmp_path / "c.csv", csv_bytes(ROWS)), enqueue=False)

    job = import_job_run(job_id=job.pk)

    assert (job.state, Product.objects.count()) == ("failed", 0)
    assert announced == []
