"""Celery beat runs the refresh and retention: the schedule names registered tasks, and they run."""

import pytest
from django.conf import settings

from behaviour.models import BehaviourRefresh
from behaviour.services.ingest import events_record
from behaviour.tasks import behaviour_refresh_task
from core.tasks import _registered_task
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def test_the_beat_schedule_names_registered_tasks():
    tasks = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}

    assert tasks == {
        "behaviour-refresh": "behaviour.tasks.behaviour_refresh_task",
        "events-retention": "behaviour.tasks.events_retention_task",
        "impressions-retention": "experiments.tasks.impressions_retention_task",
        "sessions-clear": "prodsim_site.tasks.sessions_clear_task",
        "sequence-retrain": "behaviour.tasks.sequence_retrain_task",
        "jobs-reap": "core.jobs.tasks.jobs_reap_task",
        "generations-replay": "core.jobs.tasks.generations_replay_task",
    }
    assert [_registered_task(task).name for task in tasks.values()] == list(tasks.values())
    assert settings.CELERY_BEAT_SCHEDULE["behaviour-refresh"]["schedule"] <= 60


# Transactional: "since the last refresh" is told by snapshots, which need separate commits.
@pytest.mark.django_db(transaction=True)
def test_the_refresh_task_refreshes_only_when_events_arrived():
    product(sku="A")
    product(sku="B")
    behaviour_refresh_task.apply()
    assert BehaviourRefresh.objects.count() == 0

    events_record(items=order(["A", "B"], "v1", "o1"))
    behaviour_refresh_task.apply()
    behaviour_refresh_task.apply()

    assert list(BehaviourRefresh.objects.values_list("state", flat=True)) == ["succeeded"]


def test_a_forced_refresh_runs_without_new_events_as_an_erasure_needs():
    product(sku="A")
    product(sku="B")
    events_record(items=order(["A", "B"], "v1", "o1"))
    behaviour_refresh_task.apply()
    behaviour_refresh_task.apply(args=[True])

    assert BehaviourRefresh.objects.count() == 2
