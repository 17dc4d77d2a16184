"""Training a sequence version where the usual path does not hold: a shop whose shoppers only
view, and Ctrl-C in `manage.py train_behaviour`."""

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from behaviour.ml.sequence.data import (
    KIND_CODES,
    PURCHASE,
    SequenceData,
    histories_and_targets,
    target_kinds,
    time_split,
)
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.services.ingest import events_record
from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
from tests.behaviour.sequence_factories import TINY, planted, sequence_catalogue

VIEW = KIND_CODES["view"]
# Committed rows: the job heartbeat thread (core.jobs) reads them on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(settings, tmp_path):
    sequence_catalogue(settings, tmp_path)


def views_only(items: list[dict]) -> list[dict]:
    order_fields = ("order_id", "quantity", "unit_price")
    return [
        {**{k: v for k, v in item.items() if k not in order_fields}, "kind": "view"}
        for item in items
    ]


def test_the_first_version_of_a_shop_of_views_only_activates(catalogue):
    events_record(items=views_only(planted(60, days_ago=60) + planted(20, days_ago=5)))

    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)

    version = SequenceModelVersion.objects.get(pk=job.version_id)
    assert version.metrics["recall"] is not None  # validated on later views, as training is
    assert version.metrics["hybrid_weights"] is not None  # tuned on the same cases
    assert version.status == "active"  # nothing served before


def split(later_kind: int):
    """Two visitors who viewed an item, then did `later_kind` on another after the cut."""
    data = SequenceData.from_arrays(
        np.array([1, 1, 2, 2]),
        np.array([0, 1, 0, 2]),
        np.array([VIEW, later_kind] * 2),
        np.array([0, 100, 0, 100]),
        3,
    )
    return time_split(data, 50)


def test_a_split_with_later_purchases_validates_on_them_only():
    train, valid = split(PURCHASE)

    assert target_kinds(train, valid) == (PURCHASE,)


def test_a_split_of_views_only_validates_on_every_later_event():
    train, valid = split(VIEW)

    inputs, targets = histories_and_targets(train, valid, target_kinds(train, valid))

    assert [list(t) for t in targets] == [[1], [2]]


def test_ctrl_c_cancels_the_job_and_fails_its_version(catalogue, monkeypatch):
    events_record(items=planted(30, days_ago=60) + planted(10, days_ago=5))
    import behaviour.ml.sequence.train as train_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train_sequence_model", interrupted)

    with pytest.raises(CommandError, match="interrupted by Ctrl-C"):
        call_command("train_behaviour", "--architecture", "gru", "--epochs", "1", "--dim", "8")

    job = SequenceTrainingJob.objects.get()
    assert job.state == SequenceTrainingJob.State.CANCELLED
    assert (job.version.status, job.version.error) == ("failed", job.error)
