"""A trained sequence version activates itself only if it beats the version active when it
decides: an admin's activation while its item vectors were being stored (an HNSW build, minutes
on a large catalogue) was undone by a comparison made before it."""

import pytest

from behaviour.models import SequenceModelVersion
from behaviour.services.sequence import training
from behaviour.services.sequence import versions as sequence_versions

pytestmark = pytest.mark.django_db
Status = SequenceModelVersion.Status


def test_an_admins_activation_while_the_vectors_are_stored_is_not_undone(monkeypatch):
    old = SequenceModelVersion.objects.create(architecture="gru", status=Status.ACTIVE)
    chosen = SequenceModelVersion.objects.create(architecture="gru", status=Status.READY)
    trained = SequenceModelVersion.objects.create(
        architecture="gru",
        status=Status.READY,
        auto_activate=True,  # it beat `old` on validation
        metrics={"active_version": old.pk, "recall": 0.5, "active_recall": 0.1},
    )

    admin = []

    def admin_meanwhile(*, version):
        if not admin:  # once, whichever step stores the vectors first
            admin.append(sequence_versions._activate(chosen))

    for module in (training, sequence_versions):
        monkeypatch.setattr(module, "sequence_vectors_store_or_log", admin_meanwhile)
    training._activate_if_better(trained)

    assert SequenceModelVersion.objects.get(status=Status.ACTIVE) == chosen


def test_a_version_that_beats_the_active_one_still_activates():
    old = SequenceModelVersion.objects.create(architecture="gru", status=Status.ACTIVE)
    trained = SequenceModelVersion.objects.create(
        architecture="gru",
        status=Status.READY,
        auto_activate=True,
        metrics={"active_version": old.pk, "recall": 0.5, "active_recall": 0.1},
    )

    training._activate_if_better(trained)

    assert SequenceModelVersion.objects.get(status=Status.ACTIVE) == trained
