"""Training a sequence version on histories the 30-day validation month does not suit: a shop of
a few weeks, and one whose recent shoppers are all new (anonymous sessions)."""

import numpy as np
import pytest

from behaviour.models import SequenceModelVersion
from behaviour.services.ingest import events_record
from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
from behaviour.services.sequence.training import (
    SECONDS_PER_DAY,
    UNVALIDATED,
    UNVALIDATED_FIRST,
    validation_cut,
)
from tests.behaviour.sequence_factories import TINY, planted, sequence_catalogue

# Committed rows: the job heartbeat thread (core.jobs) reads them on its own connection.
committed = pytest.mark.django_db(transaction=True)
LATEST = 1_314_800_000  # 2011-08-31, online-retail's last day


@pytest.fixture
def catalogue(settings, tmp_path):
    sequence_catalogue(settings, tmp_path)


def new_shoppers(items: list[dict]) -> list[dict]:
    """The same events from visitors never seen before."""
    return [
        {**i, "visitor_id": "new-" + i["visitor_id"], "event_id": "new-" + i["event_id"]}
        for i in items
    ]


def run_training() -> tuple:
    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)
    return job, SequenceModelVersion.objects.get(pk=job.version_id)


@pytest.mark.parametrize(
    ("history_days", "window_days"),
    [
        (273.4, 30),  # online-retail's 9 months (2010-12-01 to 2011-08-31): the bench's cut
        (120, 30),  # the shortest history that still validates on a whole month
        (20, 5),  # a 3-week shop validates on its last quarter
        (0, 0),
    ],
)
def test_the_validation_window_is_a_month_or_the_last_quarter_of_a_shorter_history(
    history_days, window_days
):
    span = int(history_days * SECONDS_PER_DAY)
    times = np.array([LATEST - span, LATEST - span // 2, LATEST])

    assert validation_cut(times) == LATEST - window_days * SECONDS_PER_DAY


@committed
def test_a_shop_with_three_weeks_of_events_trains_and_validates(catalogue):
    events_record(items=planted(60, days_ago=20) + planted(20, days_ago=2))

    job, version = run_training()

    assert job.state == "succeeded", job.error
    assert (version.dataset["train_events"], version.dataset["valid_events"]) == (120, 40)
    assert 4.5 < version.dataset["valid_days"] < 4.52  # a quarter of 18 days and an hour
    assert version.metrics["recall"] is not None
    assert version.status == "active"


@committed
def test_the_first_version_activates_when_no_recent_shopper_shopped_before(catalogue):
    events_record(items=planted(60, days_ago=60) + new_shoppers(planted(20, days_ago=5)))

    job, version = run_training()

    assert job.state == "succeeded", job.error
    assert version.status == "active"
    assert version.metrics["recall"] is None
    assert version.metrics["validation"] == UNVALIDATED_FIRST


@committed
def test_an_unvalidated_version_does_not_replace_the_active_one(catalogue):
    active = SequenceModelVersion.objects.create(architecture="gru", status="active")
    events_record(items=planted(60, days_ago=60) + new_shoppers(planted(20, days_ago=5)))

    job, version = run_training()

    assert job.state == "succeeded", job.error
    assert version.metrics["validation"] == UNVALIDATED
    assert version.status == "ready"
    assert SequenceModelVersion.objects.get(status="active") == active
