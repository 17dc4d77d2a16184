"""A task's outage retry (core.jobs.tasks, core.jobs.holders): it resumes the job whose claim its
message made, even where the row names the pool child that ran the first delivery, and leaves a
job that the reaper has given to another live worker since."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from catalog.models import ImportJob
from catalog.services import import_job_create
from catalog.services import imports as imports_module
from catalog.tasks import catalogue_import_task
from core.jobs.reaper import jobs_reap
from core.jobs.tasks import CLAIMS_HEADER
from tests.catalog.factories import csv_bytes, write

pytestmark = pytest.mark.django_db

ROWS = [{"sku": f"S{i}", "title": f"Mug {i}", "price": "9.90", "currency": "EUR"} for i in range(3)]


def stored(job: ImportJob) -> tuple:
    job.refresh_from_db()
    return job.state, job.attempts, job.heartbeat_worker, job.created_count


def new_job(tmp_path) -> ImportJob:
    return import_job_create(csv_file=write(tmp_path / "c.csv", csv_bytes(ROWS)), enqueue=False)


def test_an_outage_retry_resumes_the_job_its_message_claimed(tmp_path, monkeypatch):
    job = new_job(tmp_path)
    real_import, calls = imports_module.catalogue_import, []

    def outage_once(*, job, progress=None):
        calls.append(job.attempts)
        if len(calls) == 1:
            # The first delivery ran in another pool child, still alive and beating just now.
            ImportJob.objects.filter(pk=job.pk).update(
                heartbeat_at=timezone.now(), heartbeat_worker="host-a:100"
            )
            raise OperationalError("the server closed the connection")
        return real_import(job=job, progress=progress)

    monkeypatch.setattr(imports_module, "catalogue_import", outage_once)

    catalogue_import_task.apply(args=[job.pk])  # Celery retries it eagerly, with its header

    assert calls == [1, 2]
    assert stored(job)[:2] + stored(job)[3:] == ("succeeded", 2, 3)


def test_an_outage_retry_leaves_a_job_the_reaper_gave_to_a_live_worker(tmp_path):
    job = new_job(tmp_path)
    silent_since = timezone.now() - timedelta(seconds=200)
    # The first delivery claimed attempt 1, then lost the database and retried for 200 s.
    ImportJob.objects.filter(pk=job.pk).update(
        state="running",
        attempts=1,
        started_at=silent_since,
        heartbeat_at=silent_since,
        heartbeat_worker="host-a:100",
    )
    assert [reaped.job for reaped in jobs_reap()] == [f"catalog.ImportJob {job.pk}"]
    # Worker B, alive on another machine, claimed the reaper's delivery (attempt 2).
    ImportJob.objects.filter(pk=job.pk).update(
        state="running", attempts=2, heartbeat_at=timezone.now(), heartbeat_worker="host-b:200"
    )
    header = {CLAIMS_HEADER: {f"catalog.ImportJob:{job.pk}": 1}}

    catalogue_import_task.apply(args=[job.pk], retries=1, headers=header)  # A's late retry

    assert stored(job) == ("running", 2, "host-b:200", 0)


def test_a_retry_whose_claim_was_taken_over_then_given_up_resumes_it(tmp_path):
    """The worker that took over died too and its attempt went silent: the retry (a delivery
    like any other now) takes the job over from a silent holder."""
    job = new_job(tmp_path)
    silent_since = timezone.now() - timedelta(seconds=200)
    ImportJob.objects.filter(pk=job.pk).update(
        state="running", attempts=2, heartbeat_at=silent_since, heartbeat_worker="host-b:200"
    )
    header = {CLAIMS_HEADER: {f"catalog.ImportJob:{job.pk}": 1}}

    catalogue_import_task.apply(args=[job.pk], retries=1, headers=header)

    assert stored(job)[:2] + stored(job)[3:] == ("succeeded", 3, 3)
