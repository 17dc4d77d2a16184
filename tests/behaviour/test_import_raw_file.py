"""The uploaded CSV holds the shop's raw visitor ids: it lives exactly as long as an attempt may
still read it. An attempt that lost the job (the reaper gave it to a newer one) neither ends the
job nor deletes the file, even when its time limit fires; a job deleted in the admin takes its
file with it."""

import contextvars
import os
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from behaviour.models import EventImportJob
from behaviour.services.imports import event_import_job_run, event_import_job_time_out
from behaviour.services.imports.jobs import IMPORTS
from core.jobs import ClaimLost
from core.jobs.delivery import job_delivery
from core.jobs.reaper import jobs_reap

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as a worker runs

RAW = b"order_id,occurred_at,visitor_id,sku\no1,2026-01-01T00:00:00+00:00,alice@example.com,A\n"


@pytest.fixture
def job() -> EventImportJob:
    job = EventImportJob()
    job.csv_file.save("orders.csv", ContentFile(RAW), save=False)
    job.save()
    return job


def requeued_by_the_reaper(job: EventImportJob, settings) -> None:
    """The claiming attempt fell silent (paused, cut off): the reaper requeues the job."""
    silent = timezone.now() - timedelta(seconds=settings.PRODSIM_JOB_STALE_S + 5)
    EventImportJob.objects.filter(pk=job.pk).update(heartbeat_at=silent)
    with mock.patch("core.jobs.reaper.enqueue_on_commit"):  # no broker message
        assert len(jobs_reap()) == 1


def claimed_elsewhere(job: EventImportJob) -> EventImportJob:
    """Another delivery's claim, in its own process (no delivery of this test's)."""
    return contextvars.Context().run(IMPORTS.claim, job.pk, max_attempts=3)


def test_a_lost_attempts_end_leaves_the_file_the_new_attempt_reads(job, settings):
    path = job.csv_file.path
    first = IMPORTS.claim(job.pk, max_attempts=3)
    requeued_by_the_reaper(job, settings)
    assert claimed_elsewhere(job).attempts == 2

    with pytest.raises(ClaimLost):  # the first attempt wakes up and tries to end the job
        IMPORTS.end(first, state=EventImportJob.State.SUCCEEDED)

    assert os.path.exists(path)
    job.refresh_from_db()
    assert (job.state, job.attempts, job.csv_file.name) == ("running", 2, first.csv_file.name)


def test_an_old_attempts_time_limit_leaves_the_new_attempt_running(job, settings):
    path = job.csv_file.path
    with job_delivery():  # the first delivery, as JobTask.run_job opens it
        IMPORTS.claim(job.pk, max_attempts=3)
        requeued_by_the_reaper(job, settings)
        claimed_elsewhere(job)

        event_import_job_time_out(job_id=job.pk, seconds=10800)  # its soft limit fires

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == ("running", 2, "")
    assert os.path.exists(path)


def test_the_time_limit_of_the_attempt_in_hand_ends_the_job_and_its_file(job):
    path = job.csv_file.path
    with job_delivery():
        IMPORTS.claim(job.pk, max_attempts=3)

        event_import_job_time_out(job_id=job.pk, seconds=10800)

    job.refresh_from_db()
    assert (job.state, job.csv_file.name) == ("failed", "")
    assert job.error == "the import was stopped by its time limit after 10800 s"
    assert not os.path.exists(path)


def test_deleting_a_queued_import_in_the_admin_deletes_its_file(job, admin_client):
    path = job.csv_file.path

    response = admin_client.post(
        f"/admin/behaviour/eventimportjob/{job.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302 and not EventImportJob.objects.exists()
    assert event_import_job_run(job_id=job.pk) is None  # the worker's delivery: nothing to do
    assert not os.path.exists(path)


def test_a_running_import_is_cancelled_not_deleted(job, admin_client):
    path = job.csv_file.path
    IMPORTS.claim(job.pk, max_attempts=3)

    page = admin_client.get(f"/admin/behaviour/eventimportjob/{job.pk}/delete/")
    action = admin_client.post(
        "/admin/behaviour/eventimportjob/",
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
        follow=True,
    )

    assert (page.status_code, action.status_code) == (403, 200)
    assert "1 running import(s) were not deleted: cancel them first" in action.content.decode()
    assert EventImportJob.objects.filter(pk=job.pk).exists() and os.path.exists(path)


def test_a_job_claimed_while_its_deletion_was_confirmed_is_kept(job):
    from behaviour.services.imports.jobs import event_import_jobs_delete

    queued = EventImportJob.objects.filter(pk=job.pk)  # what the admin's confirmation listed
    IMPORTS.claim(job.pk, max_attempts=3)  # a worker, meanwhile

    assert event_import_jobs_delete(jobs=queued) == (0, 1)
    assert os.path.exists(job.csv_file.path)


def file_delete_fails():
    """A stored file that cannot be removed (a permission, a read-only volume)."""
    return mock.patch.object(FileSystemStorage, "delete", side_effect=PermissionError("read-only"))


def test_a_raw_file_that_cannot_be_removed_is_logged_and_the_job_still_ends(job, caplog):
    # The row no longer names the file once the end commits; a delete that fails then is an
    # operator's matter, not a failure of the import.
    claimed = IMPORTS.claim(job.pk, max_attempts=3)
    with file_delete_fails(), caplog.at_level("ERROR"):
        ended = IMPORTS.end(claimed, state=EventImportJob.State.SUCCEEDED)

    job.refresh_from_db()
    assert (ended.state, job.state, job.csv_file.name) == ("succeeded", "succeeded", "")
    assert "read-only" in caplog.text


def test_a_deleted_jobs_file_that_cannot_be_removed_is_logged_not_a_500(job, admin_client, caplog):
    with file_delete_fails(), caplog.at_level("ERROR"):
        response = admin_client.post(
            f"/admin/behaviour/eventimportjob/{job.pk}/delete/", {"post": "yes"}
        )

    assert response.status_code == 302 and not EventImportJob.objects.exists()
    assert "read-only" in caplog.text
