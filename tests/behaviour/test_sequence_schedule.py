"""Scheduled retraining of the sequence model: once a shop has trained one, a new training
starts every PRODSIM_SEQUENCE_RETRAIN_DAYS with the serving version's settings, when events
arrived since the last one; never two at once, never while one is unfinished."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import BehaviourRefresh, SequenceModelVersion, SequenceTrainingJob
from behaviour.services.sequence import sequence_retrain_if_due
from behaviour.services.sequence.versions import TRAINING_TASK

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def trained(*, days_ago: float, state: str = "succeeded", status: str = "active", **params):
    version = SequenceModelVersion.objects.create(
        architecture=params.get("architecture", "gru"), status=status, params=params
    )
    job = SequenceTrainingJob.objects.create(version=version, state=state)
    created = NOW - dt.timedelta(days=days_ago)  # the version just before its job, as training
    SequenceModelVersion.objects.filter(pk=version.pk).update(
        created_at=created - dt.timedelta(seconds=1)
    )
    SequenceTrainingJob.objects.filter(pk=job.pk).update(created_at=created)
    return version


def events_received(*, days_ago: float) -> None:
    BehaviourRefresh.objects.create(
        state="succeeded", started_at=NOW, events_until=NOW - dt.timedelta(days=days_ago)
    )


def test_a_week_after_the_last_training_with_new_events_it_retrains_with_the_serving_settings(
    django_capture_on_commit_callbacks, settings
):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=20, status="ready", architecture="sasrec", dim=32)  # an older one
    trained(days_ago=8, architecture="gru", dim=48, epochs=3)  # serving
    events_received(days_ago=1)

    with django_capture_on_commit_callbacks() as callbacks:
        job = sequence_retrain_if_due(now=NOW)

    assert job is not None and job.state == "queued"
    version = job.version
    assert version.auto_activate is True  # activates only if it beats the serving version
    config = SequenceConfig.from_dict(version.params)
    assert (config.architecture, config.dim, config.epochs) == ("gru", 48, 3)
    assert len(callbacks) == 1  # the training task, sent once the job is committed
    assert sequence_retrain_if_due(now=NOW) is None  # the new one is unfinished


def test_a_shop_with_auto_activation_off_gets_its_retrained_versions_unactivated(settings):
    """PRODSIM_AUTO_ACTIVATE off: an operator reviews every model before shoppers see it; the
    scheduled retraining activated its versions whatever the setting."""
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS, settings.PRODSIM_AUTO_ACTIVATE = 7, False
    trained(days_ago=8)
    events_received(days_ago=1)

    job = sequence_retrain_if_due(now=NOW)

    assert job.version.auto_activate is False


@pytest.mark.parametrize(
    ("setup", "retrain_days"),
    [
        ("never trained", 7),
        ("trained recently", 7),
        ("no new events", 7),
        ("a training is running", 7),
        ("switched off", 0),
    ],
)
def test_no_training_starts_when_none_is_due(setup, retrain_days, settings):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = retrain_days
    if setup != "never trained":
        days_ago = 2 if setup == "trained recently" else 10
        state = "running" if setup == "a training is running" else "succeeded"
        trained(days_ago=days_ago, state=state)
    events_received(days_ago=11 if setup == "no new events" else 1)

    assert sequence_retrain_if_due(now=NOW) is None
    assert SequenceTrainingJob.objects.count() == (0 if setup == "never trained" else 1)


@pytest.mark.parametrize("days_ago", [2, 8])
def test_finished_jobs_deleted_from_the_admin_leave_the_schedule_as_it_was(days_ago, settings):
    """The schedule read the job rows alone: an admin tidying the jobs list (finished jobs may
    be deleted) switched scheduled retraining off for good ("never trained") while the model
    kept ageing."""
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=days_ago)
    events_received(days_ago=1)
    SequenceTrainingJob.objects.all().delete()

    job = sequence_retrain_if_due(now=NOW)

    assert (job is not None) is (days_ago > 7)


@pytest.mark.parametrize(
    ("state", "days_ago", "retrains"),
    [
        ("failed", 1.5, True),  # tried again a day later, not a week
        ("timed_out", 1.5, True),
        ("failed", 0.5, False),  # at most once a day
        ("cancelled", 1.5, False),  # an admin stopped it: the next is a period later
        ("cancelled", 8, True),
    ],
)
def test_a_failed_training_is_tried_again_a_day_later(state, days_ago, retrains, settings):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=days_ago, state=state)
    events_received(days_ago=0.1)

    assert (sequence_retrain_if_due(now=NOW) is not None) is retrains


def test_after_two_failures_in_a_row_the_next_try_waits_the_period(settings):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=20)
    trained(days_ago=5, state="failed", status="failed")
    trained(days_ago=3, state="timed_out", status="failed")  # the daily retry failed too
    events_received(days_ago=0.1)

    assert sequence_retrain_if_due(now=NOW) is None
    trained(days_ago=8, status="ready")  # a success between them: one failure in a row
    SequenceTrainingJob.objects.filter(state="failed").update(created_at=NOW - dt.timedelta(9))
    assert sequence_retrain_if_due(now=NOW) is not None


def test_a_failed_training_is_retried_for_the_events_before_it(settings):
    """It learned nothing: the events that arrived before it started are still new."""
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=9)
    events_received(days_ago=3)  # after the serving training, before the failed one
    trained(days_ago=2, state="failed", status="failed")

    assert sequence_retrain_if_due(now=NOW) is not None


def test_a_cancelled_training_leaves_the_events_before_it_new(settings):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=30)
    events_received(days_ago=20)  # after the serving training, before the cancelled one
    trained(days_ago=10, state="cancelled", status="failed")

    assert sequence_retrain_if_due(now=NOW) is not None


def test_settings_this_release_cannot_read_give_the_defaults(settings):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=10, removed_option=True)
    events_received(days_ago=1)

    job = sequence_retrain_if_due(now=NOW)

    assert SequenceConfig.from_dict(job.version.params) == SequenceConfig()


def test_settings_that_would_train_nothing_give_the_defaults(settings, caplog):
    settings.PRODSIM_SEQUENCE_RETRAIN_DAYS = 7
    trained(days_ago=10, epochs=0)  # saved before the training floors
    events_received(days_ago=1)

    job = sequence_retrain_if_due(now=NOW)

    assert SequenceConfig.from_dict(job.version.params) == SequenceConfig()
    assert "epochs must be at least 1, not 0" in caplog.text


def test_beat_asks_every_six_hours_and_the_task_is_registered():
    from prodsim_site.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["sequence-retrain"]
    assert entry["schedule"] == 6 * 3600
    assert entry["task"] in app.tasks
    assert TRAINING_TASK in app.tasks
