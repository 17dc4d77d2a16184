"""Deleting an image model version: its row (and with it its vectors), its HNSW indexes, its
folder (weights, exported models, checkpoints)."""

from pathlib import Path

from django.db import transaction

from core.folders import folders_remove_on_commit

from .. import vector_store
from ..models import ModelVersion
from .versions import VersionStateError

ERROR_SERVING = "version v{pk} serves the similar lists; activate another one first"
ERROR_BUSY = "version v{pk} is {status}; cancel its job (or let it end) first"
# Statuses whose version nothing works on: a worker writes to the others' folders and rows.
DELETABLE = {
    ModelVersion.Status.READY,
    ModelVersion.Status.ARCHIVED,
    ModelVersion.Status.FAILED,
}


@transaction.atomic
def model_version_delete(*, version: ModelVersion) -> None:
    """Delete a version that neither serves nor is being built; once that commits, drop its
    indexes (concurrently: serving is not blocked) and remove its folder."""
    version = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
    if version is None:  # another admin deleted it first: what was asked is done
        return
    if version.status == ModelVersion.Status.ACTIVE:
        raise VersionStateError(ERROR_SERVING.format(pk=version.pk))
    if version.status not in DELETABLE:
        raise VersionStateError(ERROR_BUSY.format(pk=version.pk, status=version.status))
    gone = ModelVersion(pk=version.pk)  # the indexes are named after the pk delete() clears
    folder = Path(version.artifact_dir) if version.artifact_dir else None
    version.delete()
    transaction.on_commit(lambda: vector_store.version_indexes_drop(version=gone), robust=True)
    # Only a folder as training names it (<models root>/v<pk>, the root may have moved since).
    if folder and folder.name == f"v{gone.pk}":
        folders_remove_on_commit([folder], owner=f"model version {gone.pk}")
