"""The reaper (core.jobs.reaper) on real rows: which jobs count as silent, one requeue per silent
job through its own task, a compare-and-set that a changed row defeats, the command and beat."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from behaviour.models import EventImportJob
from catalog.models import ImportJob
from core.jobs.reaper import job_requeue, jobs_reap, lifecycles, silent_jobs
from prodsim_site.celery import app
from similarity.models import Job

pytestmark = pytest.mark.django_db


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture
def imports():
    return next(lc for lc in lifecycles() if lc.model is ImportJob)


def test_silent_running_and_long_queued_jobs_are_found_and_no_others(settings, imports):
    settings.PRODSIM_JOB_STALE_S, settings.PRODSIM_JOB_QUEUED_STALE_S = 60, 600
    silent = ImportJob.objects.create(state="running", attempts=1, heartbeat_at=ago(61))
    never_beat = ImportJob.objects.create(state="running", attempts=1, started_at=ago(61))
    lost_message = ImportJob.objects.create()
    ImportJob.objects.filter(pk=lost_message.pk).update(created_at=ago(601))
    ImportJob.objects.create(state="running", attempts=1, heartbeat_at=ago(59))  # alive
    ImportJob.objects.create()  # queued a moment ago: its worker is busy
    ImportJob.objects.create(state="succeeded", heartbeat_at=ago(3600))

    found = list(silent_jobs(imports).values_list("pk", flat=True))

    assert found == [silent.pk, never_beat.pk, lost_message.pk]


def test_a_silent_job_is_requeued_once_through_its_own_task(
    settings, django_capture_on_commit_callbacks
):
    settings.PRODSIM_JOB_STALE_S = 60
    job = ImportJob.objects.create(
        state="running", attempts=2, heartbeat_at=ago(90), heartbeat_worker="vm:77"
    )

    with django_capture_on_commit_callbacks() as sent:
        first = jobs_reap()
        second = jobs_reap()  # the row's clock restarted: not silent any more

    job.refresh_from_db()
    assert [str(r) for r in first] == [
        f"catalog.ImportJob {job.pk}: running, silent 90 s (last worker vm:77) "
        "-> catalog.tasks.catalogue_import_task"
    ]
    assert (second, len(sent)) == ([], 1)
    assert (job.state, job.attempts, job.heartbeat_worker) == ("queued", 2, "vm:77")
    assert job.heartbeat_phase == "requeued by the reaper after 90 s without a heartbeat"


def test_a_requeue_does_nothing_if_the_row_changed_since_it_was_read(
    settings, imports, django_capture_on_commit_callbacks
):
    job = ImportJob.objects.create(state="running", attempts=1, heartbeat_at=ago(999))
    seen = ImportJob.objects.get(pk=job.pk)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())  # it woke up

    with django_capture_on_commit_callbacks() as sent:
        assert job_requeue(imports, seen) is None

    job.refresh_from_db()
    assert (job.state, len(sent)) == ("running", 0)


def test_each_kind_of_job_goes_to_its_own_task(settings, django_capture_on_commit_callbacks):
    settings.PRODSIM_JOB_STALE_S = 60
    for kind in (Job.Kind.TRAIN, Job.Kind.EMBED):
        Job.objects.create(kind=kind, state="running", heartbeat_at=ago(61))
    EventImportJob.objects.create(state="running", heartbeat_at=ago(61))

    with django_capture_on_commit_callbacks():
        tasks = sorted(r.task for r in jobs_reap())

    assert tasks == [
        "behaviour.tasks.events_import_task",
        "similarity.tasks.model_version_reembed_task",
        "similarity.tasks.model_version_train_task",
    ]
    assert all(task in app.tasks for task in tasks)


def test_the_command_lists_in_a_dry_run_and_changes_nothing(settings, capsys):
    settings.PRODSIM_JOB_STALE_S = 60
    job = ImportJob.objects.create(state="running", attempts=1, heartbeat_at=ago(61))

    call_command("reap_jobs", "--dry-run")

    job.refresh_from_db()
    assert job.state == "running"
    assert f"would requeue catalog.ImportJob {job.pk}: running" in capsys.readouterr().out


def test_beat_runs_the_reaper_more_often_than_its_timeout():
    entry = django_settings.CELERY_BEAT_SCHEDULE["jobs-reap"]
    app.loader.import_default_modules()

    assert entry["task"] in app.tasks
    assert entry["schedule"] < django_settings.PRODSIM_JOB_STALE_S
    # A heartbeat is due several times before the reaper gives up on a job.
    assert django_settings.PRODSIM_JOB_STALE_S >= 4 * django_settings.PRODSIM_JOB_HEARTBEAT_S
    assert django_settings.PRODSIM_JOB_STALE_S <= 120
