"""Peer profiles (one row per shopper) of sequence versions after an erasure: a version saved
while a shopper is erased, and a deleted version's folder."""

from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from scipy import sparse

from behaviour.ml.sequence.peers import PEERS_FILE, Peers
from behaviour.models import SequenceModelVersion
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from behaviour.services.sequence import (
    SequenceVersionError,
    sequence_training_job_run,
    sequence_training_start,
    sequence_version_activate,
    sequence_version_delete,
)
from behaviour.services.sequence import training as training_service
from behaviour.services.sequence.dataset import sequences_of
from behaviour.services.visitors import visitor_erase
from catalog.models import Product
from tests.catalog.factories import product

from .sequence_factories import SKUS, TINY, planted

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(path: Path) -> int:
    return sparse.load_npz(path).shape[0]


def _shop():
    for sku in SKUS:
        product(sku=sku, title=sku.title())
    assert all(o.status == "accepted" for o in events_record(items=planted(60, days_ago=60)))
    assert all(o.status == "accepted" for o in events_record(items=planted(20, days_ago=5)))


def test_a_shopper_erased_while_a_version_saves_has_no_profile_in_it(
    settings, tmp_path, monkeypatch
):
    """The save reads the events for the served peers again; an erasure (and the refresh it
    queues) landing after that read, before the version is marked ready, still reaches it."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    _shop()
    original, refreshed = training_service.sequences_of, []

    def read_then_erasure_happens(product_ids, rows=None):
        data = original(product_ids, rows)
        assert visitor_erase(visitor_id="visitor-7") > 0
        refreshed.append(behaviour_refresh())  # the refresh the erasure queued, on a worker
        return data

    monkeypatch.setattr(training_service, "sequences_of", read_then_erasure_happens)
    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)
    version = SequenceModelVersion.objects.get(pk=job.version_id)
    assert version.status == "active" and refreshed[0] is not None

    folder = Path(version.artifact_path).parent
    served = _rows(folder / PEERS_FILE)
    assert served == 59, f"{served} profiles served: the erased shopper's is still one of them"
    assert sorted(p.name for p in folder.glob("peers*")) == [PEERS_FILE]


def test_a_version_saved_without_an_erasure_serves_every_shoppers_profile(settings, tmp_path):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    _shop()
    job = sequence_training_job_run(job_id=sequence_training_start(config=TINY, enqueue=False).pk)
    version = SequenceModelVersion.objects.get(pk=job.version_id)
    assert version.status == "active"
    assert _rows(Path(version.artifact_path).parent / PEERS_FILE) == 60


def _version_with_peers(folder: Path) -> SequenceModelVersion:
    folder.mkdir(parents=True)
    product_ids = np.array(sorted(Product.objects.values_list("pk", flat=True)), dtype=np.int64)
    vectors = np.zeros((len(product_ids), 2))
    np.savez(folder / "vectors.npz", product_ids=product_ids, vectors=vectors)
    (folder / "model.npz").write_bytes(b"")
    Peers.fit(sequences_of(product_ids)).save(folder / PEERS_FILE)
    return SequenceModelVersion.objects.create(
        architecture="gru",
        status=SequenceModelVersion.Status.READY,
        artifact_path=str(folder / "model.npz"),
        vectors_path=str(folder / "vectors.npz"),
    )


def test_a_deleted_versions_peer_profiles_go_with_it(tmp_path):
    """Its row gone, no refresh rewrites its peers file again: the folder goes too."""
    _shop()
    folder = tmp_path / "models" / "sequence" / "v99"
    version = _version_with_peers(folder)
    assert _rows(folder / PEERS_FILE) == 60

    sequence_version_delete(version=version)
    assert visitor_erase(visitor_id="visitor-7") > 0
    behaviour_refresh()

    assert not SequenceModelVersion.objects.filter(pk=version.pk).exists()
    assert not folder.exists(), "the deleted version's shopper profiles are left on disk"


def test_the_admin_deletes_a_version_with_its_folder_and_never_the_serving_one(
    admin_client, settings, tmp_path
):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    _shop()
    idle = _version_with_peers(tmp_path / "elsewhere" / "v7")
    serving = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    sequence_version_activate(version=serving)
    page = reverse("admin:behaviour_sequencemodelversion_delete", args=[idle.pk])

    admin_client.post(page, {"post": "yes"})

    assert not (tmp_path / "elsewhere" / "v7").exists()
    assert list(SequenceModelVersion.objects.values_list("pk", flat=True)) == [serving.pk]
    with pytest.raises(SequenceVersionError):
        sequence_version_delete(version=serving)
