"""Training a sequence version where the usual path does not hold: a shop whose shoppers only
view or that sells one product, settings that would train nothing, Ctrl-C in
`manage.py train_behaviour` and an admin's cancel while the version saves."""

import datetime as dt

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

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
from behaviour.services.sequence import (
    sequence_training_cancel,
    sequence_training_job_run,
    sequence_training_start,
    training,
)
from behaviour.services.sequence.training import ERROR_ONE_PRODUCT, SEQUENCE_JOBS
from behaviour.services.sequence.versions import ERROR_CANCELLED
from tests.behaviour.sequence_factories import TINY, planted, sequence_catalogue
from tests.catalog.factories import product

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


@pytest.mark.parametrize(
    ("step", "status"),
    # Asked before the version is marked ready, then after (while its vectors are stored).
    [("_tuned_hybrid", "failed"), ("sequence_vectors_store_or_log", "ready")],
)
def test_a_cancel_while_the_version_saves_ends_the_job_cancelled_unactivated(
    catalogue, monkeypatch, step, status
):
    events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))
    job = sequence_training_start(config=TINY, enqueue=False)
    real = getattr(training, step)

    def cancelled_meanwhile(*args, **kwargs):
        sequence_training_cancel(job=job)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, step, cancelled_meanwhile)

    job = sequence_training_job_run(job_id=job.pk)

    assert (job.state, job.error) == (SequenceTrainingJob.State.CANCELLED, ERROR_CANCELLED)
    assert SequenceModelVersion.objects.get(pk=job.version_id).status == status


def test_a_shop_of_one_product_fails_with_a_plain_reason(settings, tmp_path):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    product(sku="ONLY")
    now = timezone.now()
    events_record(
        items=[
            {
                "event_id": f"e{i}",
                "kind": "view",
                "sku": "ONLY",
                "visitor_id": f"v{i % 5}",
                "occurred_at": (now - dt.timedelta(days=60 - i)).isoformat(),
            }
            for i in range(40)
        ]
    )

    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)

    assert (job.state, job.error) == ("failed", f"ValueError: {ERROR_ONE_PRODUCT}")


def test_a_job_shows_the_first_line_of_an_unexpected_error_the_log_keeps_it_whole(caplog):
    try:
        raise RuntimeError('Graph execution error:\n\nDetected at node ...\n  File "<frozen>"')
    except RuntimeError as error:
        shown = SEQUENCE_JOBS.failure_error("job 1", error)

    assert shown == "RuntimeError: Graph execution error:"
    assert 'File "<frozen>"' in caplog.text


def test_settings_that_would_train_nothing_fail_the_job_before_it_trains(catalogue):
    events_record(items=planted(30, days_ago=60) + planted(10, days_ago=5))
    job = sequence_training_start(config=TINY, enqueue=False)
    SequenceModelVersion.objects.filter(pk=job.version_id).update(
        params={**TINY.to_dict(), "epochs": 0}  # queued before the floors
    )

    job = sequence_training_job_run(job_id=job.pk)

    assert (job.state, job.error) == (
        "failed",
        "ValueError: its settings cannot train: epochs must be at least 1, not 0",
    )
