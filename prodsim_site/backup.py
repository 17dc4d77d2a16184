"""Backup of everything prodsim keeps (restore.py reads it back): the database, media files and
model artifacts.

A backup is a folder: `database.dump` (pg_dump custom format, with every per-version HNSW index
definition, so pg_restore rebuilds the indexes), `media/` (product images), `models/` (one folder
per model version) and `manifest.json`. pg_dump is one of backup_clients.py's tools.

The dump is taken first and the files copied after it, so every file the dump refers to has
already been written (an image deleted during the copy is the only way to miss one).
"""

import json
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from .backup_clients import BackupError, client_tools_check, run_client

DUMP_FILE = "database.dump"
MANIFEST_FILE = "manifest.json"
MEDIA_DIR = "media"
MODELS_DIR = "models"
FORMAT_VERSION = 1

ERROR_NOT_EMPTY = "backup folder {path} exists and is not empty"
ERROR_NOT_A_FOLDER = "backup folder {path} is a file, not a folder"
ERROR_CANNOT_WRITE = "cannot write the backup into {path}: {reason}"
ERROR_INSIDE_A_ROOT = (
    "backup folder {path} is inside {setting} ({root}), which the backup copies: choose a folder "
    "outside it"
)


def copy_tree(source: Path, target: Path) -> int:
    """Copy a folder (merging into target); the number of files copied."""
    if not source.is_dir():
        return 0
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for path in target.rglob("*") if path.is_file())


def backup_create(*, directory: Path) -> dict:
    """Write a backup of the database, media and model artifacts into `directory` (new/empty)."""
    if directory.exists() and not directory.is_dir():
        raise BackupError(ERROR_NOT_A_FOLDER.format(path=directory))
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(ERROR_NOT_EMPTY.format(path=directory))
    _outside_the_copied_roots(directory)
    client_tools_check("pg_dump")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a bind mount the server's user cannot write, a read-only disk
        raise BackupError(ERROR_CANNOT_WRITE.format(path=directory, reason=exc)) from exc
    try:
        return _backup_write(directory)
    except BaseException:
        # The folder was empty: what is in it now is a half-written backup, which must not be
        # mistaken for one (or restored) later.
        _contents_remove(directory)
        raise


def _outside_the_copied_roots(directory: Path) -> None:
    """A folder inside MEDIA_ROOT or PRODSIM_MODELS_ROOT would be copied into itself, one level
    deeper each time, until the path is too long."""
    for setting in ("MEDIA_ROOT", "PRODSIM_MODELS_ROOT"):
        root = Path(getattr(settings, setting)).resolve()
        if directory.resolve().is_relative_to(root):
            raise BackupError(
                ERROR_INSIDE_A_ROOT.format(path=directory, setting=setting, root=root)
            )


def _backup_write(directory: Path) -> dict:
    run_client("pg_dump", ["--format=custom", "--no-owner", "--file", str(directory / DUMP_FILE)])
    try:
        return _files_copy(directory)
    except OSError as exc:  # a full disk half way through the copy
        raise BackupError(ERROR_CANNOT_WRITE.format(path=directory, reason=exc)) from exc


def _files_copy(directory: Path) -> dict:
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "database": connections["default"].settings_dict["NAME"],
        "media_root": str(settings.MEDIA_ROOT),
        "models_root": str(settings.PRODSIM_MODELS_ROOT),
        "media_files": copy_tree(Path(settings.MEDIA_ROOT), directory / MEDIA_DIR),
        "model_files": copy_tree(Path(settings.PRODSIM_MODELS_ROOT), directory / MODELS_DIR),
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return manifest


def _contents_remove(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
