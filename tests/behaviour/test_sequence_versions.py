"""Sequence model versions: one active, activation and rollback atomic, a training job's start
and cancel (the training itself: test_sequence_training.py)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.selectors.recommendations import recommended_for_visitor
from behaviour.services.ingest import events_record
from behaviour.services.sequence import (
    SequenceVersionError,
    sequence_training_cancel,
    sequence_training_start,
    sequence_version_activate,
    sequence_version_delete,
    sequence_version_rollback,
)
from behaviour.services.sequence.rollback import ERROR_NO_PREVIOUS
from behaviour.services.sequence.versions import ERROR_CANCELLED
from similarity.selectors import SimilarQuery
from tests.catalog.factories import product

from .factories import event

pytestmark = pytest.mark.django_db
Status = SequenceModelVersion.Status


def version(status: str = Status.READY) -> SequenceModelVersion:
    return SequenceModelVersion.objects.create(architecture="gru", status=status)


def statuses(*versions) -> list[str]:
    return [SequenceModelVersion.objects.get(pk=v.pk).status for v in versions]


def test_activating_a_version_retires_the_active_one_and_rollback_restores_it():
    first, second = version(), version()

    sequence_version_activate(version=first)
    sequence_version_activate(version=second)
    assert statuses(first, second) == [Status.READY, Status.ACTIVE]

    assert sequence_version_rollback() == first
    assert statuses(first, second) == [Status.ACTIVE, Status.READY]


def test_rollback_returns_to_the_version_that_served_just_before():
    first, second, third = version(), version(), version()
    for each in (first, second, third):
        sequence_version_activate(version=each)

    assert sequence_version_rollback() == second


def test_rollback_without_an_earlier_version_is_refused():
    sequence_version_activate(version=version())

    with pytest.raises(SequenceVersionError, match=ERROR_NO_PREVIOUS):
        sequence_version_rollback()


@pytest.mark.parametrize("status", [Status.QUEUED, Status.TRAINING, Status.FAILED])
def test_only_a_trained_version_can_serve(status):
    active, unfinished = version(), version(status)
    sequence_version_activate(version=active)

    with pytest.raises(SequenceVersionError, match=f"is {status}"):
        sequence_version_activate(version=unfinished)
    assert statuses(active, unfinished) == [Status.ACTIVE, status]


@pytest.mark.parametrize("status", [Status.QUEUED, Status.TRAINING])
def test_a_version_in_training_is_not_deleted(status):
    """Its worker would save the row again when it ends (or fail on a row gone)."""
    training = version(status)

    with pytest.raises(SequenceVersionError, match="cancel its job"):
        sequence_version_delete(version=training)

    assert statuses(training) == [status]


def test_a_version_another_admin_deleted_first_is_deleted_again_without_an_error():
    stale = version(Status.READY)
    SequenceModelVersion.objects.filter(pk=stale.pk).delete()  # another admin's, meanwhile

    sequence_version_delete(version=stale)

    assert not SequenceModelVersion.objects.filter(pk=stale.pk).exists()


def test_the_database_allows_one_active_version():
    version(Status.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        version(Status.ACTIVE)


def test_a_training_is_a_queued_version_and_job_sent_to_the_ml_worker_on_commit(
    django_capture_on_commit_callbacks,
):
    config = SequenceConfig(architecture="gru", dim=8, epochs=2)
    with django_capture_on_commit_callbacks() as callbacks:
        job = sequence_training_start(config=config, auto_activate=False)

    assert (job.state, job.version.status, job.version.auto_activate) == (
        SequenceTrainingJob.State.QUEUED,
        Status.QUEUED,
        False,
    )
    assert job.version.params == config.to_dict()
    assert len(callbacks) == 1


def test_cancelling_a_queued_training_fails_its_version():
    job = sequence_training_start(config=SequenceConfig(), enqueue=False)

    job = sequence_training_cancel(job=job)

    assert (job.state, job.error) == (SequenceTrainingJob.State.CANCELLED, ERROR_CANCELLED)
    assert statuses(job.version) == [Status.FAILED]


def test_an_active_version_whose_files_are_gone_serves_without_the_sequence_signal(caplog):
    product(sku="A"), product(sku="B")
    events_record(items=[event("A", "someone")])
    lost = version()
    lost.artifact_path, lost.vectors_path = "/nonexistent/model.npz", "/nonexistent/vectors.npz"
    lost.save(update_fields=["artifact_path", "vectors_path"])
    sequence_version_activate(version=lost)

    result = recommended_for_visitor(visitor_id="someone", query=SimilarQuery(k=1))

    assert [item.product.sku for item in result.items] == ["B"]
    assert f"sequence version {lost.pk} cannot serve" in caplog.text


def test_the_training_task_a_start_names_is_registered_on_the_ml_queue(settings):
    from behaviour.services.sequence.versions import TRAINING_TASK
    from core.tasks import _registered_task

    assert _registered_task(TRAINING_TASK).name == TRAINING_TASK
    assert settings.CELERY_TASK_ROUTES[TRAINING_TASK] == {"queue": "ml"}


@pytest.mark.django_db(transaction=True)
def test_the_served_version_is_read_once_per_serving_generation_and_activation_moves_it(caplog):
    # Committed state, as in production: only then is the active version kept per process.
    product(sku="A"), product(sku="B")
    events_record(items=[event("A", "someone")])
    first, second = version(), version()
    for lost in (first, second):
        lost.artifact_path, lost.vectors_path = "/nonexistent/model.npz", "/nonexistent/v.npz"
        lost.save(update_fields=["artifact_path", "vectors_path"])
    sequence_version_activate(version=first)
    recommended_for_visitor(visitor_id="someone", query=SimilarQuery(k=1))

    with CaptureQueriesContext(connection) as queries:
        recommended_for_visitor(visitor_id="someone", query=SimilarQuery(k=1))
    assert not [q for q in queries if "behaviour_sequencemodelversion" in q["sql"]]

    sequence_version_activate(version=second)
    recommended_for_visitor(visitor_id="someone", query=SimilarQuery(k=1))
    assert f"sequence version {second.pk} cannot serve" in caplog.text


def test_a_version_that_failed_to_load_is_retried_after_a_serving_change_or_a_while(
    monkeypatch,
):
    """A passing cause (EMFILE, a volume mounted late) must not keep it off until a restart;
    a lasting one is not retried on every request."""
    from behaviour.selectors.recommendations import sequence_model
    from similarity import cache as similar_cache

    monkeypatch.setattr(sequence_model, "_loaded", {})
    monkeypatch.setattr(sequence_model, "_broken", set())
    served, loads = object(), []

    def load(version, *, stored):
        loads.append(version.pk)
        if len(loads) in (1, 3):
            raise OSError(24, "Too many open files")
        return served

    monkeypatch.setattr(sequence_model, "_load", load)
    failing = version()
    failing.vectors_path = failing.artifact_path = "/models/sequence/vectors.npz"

    assert sequence_model.serving_model(version=failing) is None
    assert sequence_model.serving_model(version=failing) is None
    assert len(loads) == 1  # marked: the second request does not try again
    similar_cache.reset()  # what a serving change does once it commits
    assert sequence_model.serving_model(version=failing) is served

    sequence_model._loaded.clear()
    assert sequence_model.serving_model(version=failing) is None
    monkeypatch.setattr(sequence_model, "BROKEN_RETRY_SECONDS", 0.0)  # the mark has expired
    assert sequence_model.serving_model(version=failing) is served
    assert len(loads) == 4
