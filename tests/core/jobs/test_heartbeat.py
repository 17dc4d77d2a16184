"""Heartbeats on real rows (core.jobs.heartbeat, core.jobs.holders): a claim writes the first one,
progress writes carry them, a timer keeps a long unit alive, and a worker whose claim moved on
stops before it writes anything."""

import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import ImportJob
from core.jobs import JobLifecycle, ProgressWriter, job_end, live_state
from core.jobs.heartbeat import ClaimLost, Heartbeat, heartbeat_timer, worker_name
from core.jobs.holders import held_elsewhere
from core.jobs.progress import phase_of

pytestmark = pytest.mark.django_db


class Lifecycle(JobLifecycle[ImportJob]):
    model = ImportJob
    error_cancelled = "cancelled"
    error_too_many_attempts = "interrupted {attempts} times"
    error_timed_out = "time limit {seconds} s"
    timed_out_state = ImportJob.State.FAILED
    task = "catalog.tasks.catalogue_import_task"


JOBS = Lifecycle()
OUT = {"capture_output": True, "text": True, "check": True}


def running(**fields) -> ImportJob:
    return ImportJob.objects.create(state="running", attempts=1, **fields)


def test_a_claim_writes_the_first_heartbeat_with_this_worker():
    job = JOBS.claim(ImportJob.objects.create().pk, max_attempts=3)

    job.refresh_from_db()
    assert (job.heartbeat_worker, job.heartbeat_phase) == (worker_name(), "claimed")
    assert timezone.now() - job.heartbeat_at < timedelta(seconds=5)


def test_a_progress_write_carries_the_heartbeat_and_its_phase():
    job = running()
    writes = []

    ProgressWriter(job, write=writes.append)({"phase": "training", "epoch": 2, "epochs": 5})

    job.refresh_from_db()
    assert job.heartbeat_phase == "training, epoch 2 of 5"
    assert (job.heartbeat_worker, len(writes)) == (worker_name(), 1)


def test_a_worker_that_lost_its_claim_stops_before_writing(settings):
    settings.PRODSIM_JOB_HEARTBEAT_S = 0  # every report beats
    job = running()
    writes = []
    report = ProgressWriter(job, write=writes.append)
    report("first")
    # The reaper requeued the job and a new delivery claimed it (attempt 2).
    ImportJob.objects.filter(pk=job.pk).update(attempts=2, heartbeat_phase="new owner")

    with pytest.raises(ClaimLost, match="attempt 1 lost its claim"):
        report("second")

    job.refresh_from_db()
    assert (writes, job.heartbeat_phase, job.attempts) == (["first"], "new owner", 2)


def test_code_that_polls_between_writes_stops_once_its_claim_is_lost(settings):
    settings.PRODSIM_JOB_HEARTBEAT_S = 0  # a beat is due at every poll
    job = running()
    report = ProgressWriter(job, write=lambda _: None)
    assert report.cancel_requested() is False  # training asks after every batch
    ImportJob.objects.filter(pk=job.pk).update(state="queued")  # requeued by the reaper

    with pytest.raises(ClaimLost):
        report.cancel_requested()


def test_only_the_claim_in_hand_may_end_the_job():
    job = running()
    ImportJob.objects.filter(pk=job.pk).update(state="queued")  # requeued by the reaper

    with pytest.raises(ClaimLost):
        job_end(job, state="succeeded")

    job.refresh_from_db()
    assert (job.state, job.finished_at) == ("queued", None)


@pytest.mark.django_db(transaction=True)  # the timer thread has its own connection
def test_the_timer_beats_through_a_unit_longer_than_the_interval(settings):
    settings.PRODSIM_JOB_HEARTBEAT_S = 0.2
    job = running()
    seen = set()

    with heartbeat_timer(job) as heartbeat:
        heartbeat.phase = "a long epoch"
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # no progress write in here
            seen.add(ImportJob.objects.get(pk=job.pk).heartbeat_at)
            time.sleep(0.05)

    job.refresh_from_db()
    assert len(seen - {None}) >= 4  # about one beat per 0.15-0.2 s
    assert job.heartbeat_phase == "a long epoch"


def test_a_delivery_leaves_a_job_that_a_live_worker_is_running():
    job = running(heartbeat_at=timezone.now(), heartbeat_worker="other-host:4242")

    with pytest.raises(ClaimLost, match="is running in other-host:4242"):
        JOBS.claim(job.pk, max_attempts=3)

    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)


def test_a_delivery_takes_over_from_a_dead_local_worker_or_a_silent_one(settings):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **OUT).stdout
    dead = running(
        heartbeat_at=timezone.now(),
        heartbeat_worker=f"{worker_name().split(':')[0]}:{gone.strip()}",
    )
    old = timezone.now() - timedelta(seconds=settings.PRODSIM_JOB_STALE_S + 1)
    silent = running(heartbeat_at=old, heartbeat_worker="other-host:4242")

    assert not held_elsewhere(dead) and not held_elsewhere(silent)
    assert JOBS.claim(dead.pk, max_attempts=3).attempts == 2
    assert JOBS.claim(silent.pk, max_attempts=3).attempts == 2


def test_the_live_page_shows_the_heartbeat_and_flags_a_silent_job(settings):
    now = timezone.now()
    job = running(
        heartbeat_at=now - timedelta(seconds=12), heartbeat_worker="vm:1234", heartbeat_phase="x"
    )
    assert live_state(job)["heartbeat"] == "worker vm:1234, 12 s ago (x)"
    assert live_state(job)["heartbeat_warning"] == ""

    job.heartbeat_at = now - timedelta(seconds=3 * settings.PRODSIM_JOB_HEARTBEAT_S)
    assert live_state(job)["heartbeat_warning"].startswith("No heartbeat for 30 s")
    job.state = "succeeded"
    assert live_state(job)["heartbeat_warning"] == ""


def test_phases_name_epochs_and_counts():
    assert phase_of({"phase": "embedding"}) == "embedding"
    assert phase_of(ImportJob(rows_done=3, rows_total=9)) == "3 of 9"
    assert phase_of("anything else") == ""


def test_heartbeats_of_one_claim_are_shared_while_its_timer_runs(settings):
    settings.PRODSIM_JOB_HEARTBEAT_S = 3600  # the timer never fires here
    job = running()
    with heartbeat_timer(job) as heartbeat:
        assert Heartbeat.of(job) is heartbeat
    assert Heartbeat.of(job) is not heartbeat


def test_the_job_page_shows_the_heartbeat_and_the_warning_only_for_a_silent_job(admin_client):
    from django.urls import reverse

    silent = running(heartbeat_at=timezone.now() - timedelta(seconds=95), heartbeat_worker="vm:1")
    beating = running(heartbeat_at=timezone.now(), heartbeat_worker="vm:2")

    def page(job) -> str:
        url = reverse("admin:catalog_importjob_change", args=[job.pk])
        return admin_client.get(url).content.decode()

    silent_page, beating_page = page(silent), page(beating)
    assert "Last heartbeat" in silent_page
    # 95 s, or a little more on a slow first request.
    assert re.search(r"worker vm:1, 9\d s ago", silent_page)
    warning = r'data-progress-field="heartbeat_warning">No heartbeat for 9\d s: its worker may have'
    assert re.search(warning, silent_page)
    assert "worker vm:2, " in beating_page
    assert 'data-progress-field="heartbeat_warning" hidden>' in beating_page
