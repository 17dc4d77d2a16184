"""Sequence versions when things changed under them: a product added between attempts or deleted
after training, an active version's lost files, a job delivered again after its save."""

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from behaviour.ml.sequence.data import time_split
from behaviour.ml.sequence.peers import PEERS_FILE
from behaviour.models import SequenceItemVector, SequenceModelVersion, SequenceTrainingJob
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from behaviour.services.sequence import (
    sequence_training_job_run,
    sequence_training_start,
    sequence_vectors_backfill,
    sequence_version_activate,
    sequence_version_rollback,
)
from behaviour.services.sequence.dataset import training_data
from behaviour.services.sequence.training import validation_cut
from behaviour.services.sequence.versions import artifact_dir
from catalog.models import Product
from similarity import vector_store
from tests.behaviour.sequence_factories import SKUS, TINY, planted, sequence_catalogue
from tests.catalog.factories import product

# Committed rows: the job heartbeat thread (core.jobs) reads them on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(settings, tmp_path):
    sequence_catalogue(settings, tmp_path)
    events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))


def trained_version(tmp_path, skus: list[str], **fields) -> SequenceModelVersion:
    """A ready version whose vectors file holds these products (no training)."""
    ids = [product(sku=sku).pk for sku in skus]
    path = tmp_path / f"vectors-{'-'.join(skus)}.npz"
    np.savez(path, product_ids=np.array(ids), vectors=np.ones((len(ids), 4), np.float32))
    return SequenceModelVersion.objects.create(
        architecture="gru",
        status="ready",
        vectors_path=str(path),
        artifact_path=str(path),
        **fields,
    )


def run_training():
    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)
    return job, SequenceModelVersion.objects.get(pk=job.version_id)


def first_attempt_checkpointed(job: SequenceTrainingJob) -> None:
    """The job's first attempt, as it runs: epoch 1 checkpointed, then its worker died."""
    from behaviour.ml.sequence.train import train_sequence_model

    found = training_data(until=job.created_at)
    train, valid = time_split(found.data, validation_cut(found.data.times))
    folder = artifact_dir(job.version) / "checkpoints"
    one_epoch = dataclasses.replace(TINY, epochs=1)
    train_sequence_model(train, valid, found.content, one_epoch, checkpoint_dir=folder)


def test_a_retry_after_a_product_was_added_trains_afresh(shop):
    job = sequence_training_start(config=TINY, enqueue=False)
    first_attempt_checkpointed(job)
    product(sku="NEW", title="New")

    job = sequence_training_job_run(job_id=job.pk)

    assert (job.state, job.error) == (SequenceTrainingJob.State.SUCCEEDED, "")
    assert SequenceModelVersion.objects.get(pk=job.version_id).status == "active"


def test_a_retry_resumes_although_events_arrived_since_the_job_started(shop, monkeypatch):
    # A live shop's events never stop: the job reads up to its own start, so the retry learns
    # from the same events as the first attempt and continues after its checkpoint.
    from behaviour.ml.sequence import checkpoints
    from tests.behaviour.factories import event

    job = sequence_training_start(config=TINY, enqueue=False)
    first_attempt_checkpointed(job)
    events_record(items=[event(SKUS[0], "late-visitor", days_ago=0)])
    restored, restore = [], checkpoints.restore
    monkeypatch.setattr(
        checkpoints, "restore", lambda *a, **k: restored.append(restore(*a, **k)) or restored[-1]
    )

    job = sequence_training_job_run(job_id=job.pk)

    assert job.state == SequenceTrainingJob.State.SUCCEEDED
    assert restored and restored[0] is not None and restored[0]["epoch"] == 1


def test_activating_a_version_whose_trained_product_was_deleted(tmp_path):
    version = trained_version(tmp_path, ["A", "B", "C"])
    Product.objects.filter(sku="C").delete()

    sequence_version_activate(version=version)

    version.refresh_from_db()
    assert version.status == "active" and version.vectors_stored_at is not None
    stored = SequenceItemVector.objects.filter(version=version)
    assert sorted(stored.values_list("product__sku", flat=True)) == ["A", "B"]


def test_the_backfill_stores_a_version_whose_product_was_deleted(tmp_path):
    version = trained_version(tmp_path, ["A", "B"])
    Product.objects.filter(sku="B").delete()

    assert sequence_vectors_backfill() == {version.pk: 1}


def test_a_product_deleted_while_the_model_trains(shop, monkeypatch):
    import behaviour.ml.sequence.train as train_module

    real = train_module.train_sequence_model

    def train_then_delete(*args, **kwargs):
        result = real(*args, **kwargs)
        Product.objects.filter(sku="X7").delete()  # e.g. DELETE /api/v1/products/X7/
        return result

    monkeypatch.setattr(train_module, "train_sequence_model", train_then_delete)

    job, version = run_training()

    assert (job.state, version.status) == (SequenceTrainingJob.State.SUCCEEDED, "active")
    assert version.vectors_stored_at is not None


def refused_write(vector_set, **_):
    """A write the database refuses (a foreign key checked at once), as a product deleted
    during the write would be."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {vector_set.table} (version_id, product_id, vector) "
            "VALUES (%s, -1, '[1,1,1,1]')",
            [vector_set.owner],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_refused_vectors_write_is_logged_and_the_rollback_goes_on(tmp_path, monkeypatch, caplog):
    previous = trained_version(tmp_path, ["A"], activated_at=timezone.now())
    sequence_version_activate(version=trained_version(tmp_path, ["B"]))
    monkeypatch.setattr(vector_store, "item_vectors_write", refused_write)

    sequence_version_rollback()  # one transaction: the refused rows must not abort it

    previous.refresh_from_db()
    assert previous.status == "active" and previous.vectors_stored_at is None
    assert f"sequence version {previous.pk}: vectors not stored" in caplog.text


def test_the_backfill_reports_a_refused_vectors_write(tmp_path, monkeypatch):
    version = trained_version(tmp_path, ["A"])
    monkeypatch.setattr(vector_store, "item_vectors_write", refused_write)

    done = sequence_vectors_backfill()

    assert "violates foreign key constraint" in done[version.pk]


def test_a_new_version_replaces_an_active_one_whose_files_are_lost(shop, caplog):
    lost = SequenceModelVersion.objects.create(
        architecture="gru",
        status="ready",
        artifact_path="/nonexistent/model.npz",
        vectors_path="/nonexistent/vectors.npz",
    )
    sequence_version_activate(version=lost)

    job, version = run_training()

    assert (job.state, version.status) == (SequenceTrainingJob.State.SUCCEEDED, "active")
    assert version.metrics["active_recall"] is None
    assert f"active sequence version {lost.pk} not measured" in caplog.text


def delivered_again(version: SequenceModelVersion) -> None:
    """The job of a version saved READY whose worker died before ending the job."""
    job = SequenceTrainingJob.objects.create(version=version)
    sequence_training_job_run(job_id=job.pk)


def test_a_redelivery_does_not_activate_over_a_version_activated_since(tmp_path):
    metrics = {"recall": 0.5, "active_recall": None, "active_version": None}
    candidate = trained_version(tmp_path, ["A"], auto_activate=True, metrics=metrics)
    since = sequence_version_activate(version=trained_version(tmp_path, ["B"]))

    delivered_again(candidate)

    assert SequenceModelVersion.objects.get(status="active").pk == since.pk


def test_a_redelivery_activates_a_version_that_beat_the_still_active_one(tmp_path):
    active = sequence_version_activate(version=trained_version(tmp_path, ["B"]))
    metrics = {"recall": 0.5, "active_recall": 0.4, "active_version": active.pk}
    candidate = trained_version(tmp_path, ["A"], auto_activate=True, metrics=metrics)

    delivered_again(candidate)

    assert SequenceModelVersion.objects.get(status="active").pk == candidate.pk


def test_a_redelivery_does_not_activate_again_a_version_an_admin_rolled_back_from(tmp_path):
    # The killed attempt had activated it; the admin then rolled back to the one it beat.
    before = sequence_version_activate(version=trained_version(tmp_path, ["B"]))
    metrics = {"recall": 0.5, "active_recall": 0.4, "active_version": before.pk}
    candidate = trained_version(tmp_path, ["A"], auto_activate=True, metrics=metrics)
    sequence_version_activate(version=candidate)
    sequence_version_rollback()

    delivered_again(candidate)

    assert SequenceModelVersion.objects.get(status="active").pk == before.pk


def test_a_redelivery_stores_a_candidates_vectors(tmp_path):
    metrics = {"recall": 0.5, "active_recall": 0.4, "active_version": None}
    candidate = trained_version(tmp_path, ["A", "B"], auto_activate=False, metrics=metrics)

    delivered_again(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "ready" and candidate.vectors_stored_at is not None


@pytest.mark.parametrize("name", ["model.npz", "vectors.npz", PEERS_FILE])
def test_a_damaged_file_of_the_active_version_costs_only_its_signal(shop, partner_client, name):
    """Cut short (a disk that filled, a partial restore): NumPy's EOFError and BadZipFile are
    neither OSError nor ValueError, and were a 500 for every recommendation."""
    _, damaged = run_training()
    path = Path(damaged.artifact_path).parent / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    answer = partner_client.get("/api/v1/visitors/visitor-0/recommendations/?k=3")
    behaviour_refresh()  # the peers' rebuild after an erasure reads vectors.npz
    job, _ = run_training()  # measures the active version first

    assert (answer.status_code, answer.json()["k_returned"]) == (200, 3)
    assert job.state == SequenceTrainingJob.State.SUCCEEDED, job.error


def test_the_upgrade_command_fails_when_a_version_could_not_be_stored(tmp_path):
    """It printed the reason to stdout and exited 0: an upgrade script went on as if stored."""
    stored = trained_version(tmp_path, ["A"])
    lost = SequenceModelVersion.objects.create(
        architecture="gru", status="ready", vectors_path="/nonexistent/vectors.npz"
    )
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=f"sequence version\\(s\\) {lost.pk} were not stored"):
        call_command("sequence_vectors", stdout=out, stderr=err)

    assert f"sequence version {stored.pk}: stored 1 item vectors" in out.getvalue()
    assert f"sequence version {lost.pk}: vectors not stored: " in err.getvalue()
    stored.refresh_from_db()
    assert stored.vectors_stored_at is not None
    # An archived version whose file is gone is told, but fails no run: it serves only after
    # a rollback, and would otherwise fail every upgrade.
    lost.status = "archived"
    lost.save(update_fields=["status"])
    call_command("sequence_vectors", stdout=io.StringIO(), stderr=(told := io.StringIO()))
    assert f"sequence version {lost.pk}: vectors not stored: " in told.getvalue()
