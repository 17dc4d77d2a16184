"""Removing a deleted row's folder of files (model weights, vectors), once the delete commits.

After the commit, so a rolled-back delete keeps its files; a folder that cannot be removed is
logged for the operator (the row is gone already, nothing else will name the folder again).
"""

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

logger = logging.getLogger(__name__)


def folders_remove_on_commit(folders: Iterable[Path], *, owner: str) -> None:
    """Remove `folders` (and what they hold) when the current transaction commits; `owner`
    names the deleted row in the log ("sequence version 3")."""
    wanted = sorted(set(folders))
    transaction.on_commit(lambda: _remove(wanted, owner))


def _remove(folders: list[Path], owner: str) -> None:
    for folder in folders:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error("%s: folder %s not removed: %s", owner, folder, exc)
