"""Deleting a sequence version: its row (and its item vectors), then its HNSW index and its
folder (weights, vectors, peer profiles)."""

import re
from pathlib import Path

from django.db import transaction

from core.folders import folders_remove_on_commit
from similarity import vector_store

from ...models import SequenceModelVersion
from .vectors import item_vector_set
from .versions import SequenceVersionError, artifact_dir

ERROR_SERVING = "sequence version {pk} serves the recommendations; activate another one first"
ERROR_BUSY = "sequence version {pk} is {status}; cancel its job (or let it end) first"
# Statuses whose version nothing works on: a training worker would save a deleted row again.
DELETABLE = {
    SequenceModelVersion.Status.READY,
    SequenceModelVersion.Status.ARCHIVED,
    SequenceModelVersion.Status.FAILED,
}
VERSION_FOLDER = re.compile(r"v\d+")  # models/sequence/v<pk>/, as training names it


@transaction.atomic
def sequence_version_delete(*, version: SequenceModelVersion) -> None:
    """Delete a version that neither serves nor trains; once that commits, drop its index
    (concurrently: serving is not blocked) and remove its folder: its peers file holds a
    profile per shopper that no refresh rewrites once the row is gone."""
    version = SequenceModelVersion.objects.select_for_update().filter(pk=version.pk).first()
    if version is None:  # another admin deleted it first: what was asked is done
        return
    if version.status == SequenceModelVersion.Status.ACTIVE:
        raise SequenceVersionError(ERROR_SERVING.format(pk=version.pk))
    if version.status not in DELETABLE:
        raise SequenceVersionError(ERROR_BUSY.format(pk=version.pk, status=version.status))
    folders = {artifact_dir(version)}
    # Also where its files were saved (a models root moved since); only a version's own folder.
    for saved in (version.artifact_path, version.vectors_path):
        if saved and VERSION_FOLDER.fullmatch(Path(saved).parent.name):
            folders.add(Path(saved).parent)
    pk = version.pk
    version.delete()
    index = item_vector_set(version_id=pk, dim=0)  # the name needs the owner only
    transaction.on_commit(lambda: vector_store.item_vectors_index_drop(index), robust=True)
    folders_remove_on_commit(folders, owner=f"sequence version {pk}")
