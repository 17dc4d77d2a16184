"""Deleting a sequence version: its row, then its folder (weights, vectors, peer profiles)."""

import logging
import re
import shutil
from pathlib import Path

from django.db import transaction

from ...models import SequenceModelVersion
from .versions import SequenceVersionError, artifact_dir

logger = logging.getLogger(__name__)

ERROR_SERVING = "sequence version {pk} serves the recommendations; activate another one first"
VERSION_FOLDER = re.compile(r"v\d+")  # models/sequence/v<pk>/, as training names it


@transaction.atomic
def sequence_version_delete(*, version: SequenceModelVersion) -> None:
    """Delete a version that does not serve, and its folder once that commits: its peers file
    holds a profile per shopper that no refresh rewrites once the row is gone."""
    version = SequenceModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == SequenceModelVersion.Status.ACTIVE:
        raise SequenceVersionError(ERROR_SERVING.format(pk=version.pk))
    folders = {artifact_dir(version)}
    # Also where its files were saved (a models root moved since); only a version's own folder.
    for saved in (version.artifact_path, version.vectors_path):
        if saved and VERSION_FOLDER.fullmatch(Path(saved).parent.name):
            folders.add(Path(saved).parent)
    version.delete()
    transaction.on_commit(lambda: _folders_remove(version.pk, folders))


def _folders_remove(pk: int, folders: set[Path]) -> None:
    for folder in folders:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:  # logged for the operator; the row is gone already
            logger.error("sequence version %s: folder %s not removed: %s", pk, folder, exc)
