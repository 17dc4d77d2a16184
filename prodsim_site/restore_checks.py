"""What a restore checks before it replaces the database: a backup folder this release can
read, whole (its dump and every folder its manifest lists), the client tools, and roots it can
write. Found after it, each would leave half a restore behind."""

import json
import os
from pathlib import Path

from django.conf import settings

from .backup import DUMP_FILE, FORMAT_VERSION, MANIFEST_FILE, MEDIA_DIR, MODELS_DIR
from .backup_clients import BackupError, client_tools_check

# The folders a backup copies into, with the manifest's count of each one's files.
PARTS = (
    (MEDIA_DIR, "media_files", "MEDIA_ROOT", "PRODSIM_MEDIA_ROOT"),
    (MODELS_DIR, "model_files", "PRODSIM_MODELS_ROOT", "PRODSIM_MODELS_ROOT"),
)
ERROR_NOT_A_BACKUP = "{path} holds no prodsim backup (no manifest.json)"
ERROR_MANIFEST = "{path} is damaged ({reason}): copy the backup folder again"
ERROR_NEWER_FORMAT = (
    "{path} is backup format {format}, written by a later prodsim release; this one restores "
    "format {supported} and older"
)
ERROR_NO_DUMP = "the backup in {path} has no {name}: copy the whole backup folder"
ERROR_PART_MISSING = (
    "the backup in {path} holds {found} of the {listed} files its manifest lists in {part}/: "
    "copy the whole backup folder"
)
ERROR_ROOT = "cannot write {root} ({variable}): {reason}; nothing was restored"


def backup_checked(directory: Path) -> dict:
    """The backup's manifest, once everything the restore needs is there; else BackupError."""
    manifest = _manifest_read(directory)
    _parts_check(directory, manifest)
    client_tools_check("psql", "pg_restore")
    _roots_writable()
    return manifest


def _manifest_read(directory: Path) -> dict:
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        raise BackupError(ERROR_NOT_A_BACKUP.format(path=directory)) from None
    except (OSError, ValueError) as exc:  # cut short, empty, not UTF-8, unreadable
        raise BackupError(ERROR_MANIFEST.format(path=path, reason=exc)) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models_root"), str):
        raise BackupError(ERROR_MANIFEST.format(path=path, reason="no models_root"))
    version = manifest.get("format")
    if not isinstance(version, int):
        raise BackupError(ERROR_MANIFEST.format(path=path, reason="no format version"))
    if version > FORMAT_VERSION:
        raise BackupError(
            ERROR_NEWER_FORMAT.format(path=path, format=version, supported=FORMAT_VERSION)
        )
    return manifest


def _parts_check(directory: Path, manifest: dict) -> None:
    """A backup copied without its dump or one of its folders (or cut short) is refused: restored,
    model versions and products would point at files that are not there."""
    if not (directory / DUMP_FILE).is_file():
        raise BackupError(ERROR_NO_DUMP.format(path=directory, name=DUMP_FILE))
    for part, count, _, _ in PARTS:
        listed = manifest.get(count) or 0
        if not isinstance(listed, int):
            raise BackupError(ERROR_MANIFEST.format(path=directory / MANIFEST_FILE, reason=count))
        found = sum(1 for path in (directory / part).rglob("*") if path.is_file()) if listed else 0
        if found < listed:
            raise BackupError(
                ERROR_PART_MISSING.format(path=directory, found=found, part=part, listed=listed)
            )


def _roots_writable() -> None:
    for _, _, setting, variable in PARTS:
        root = Path(getattr(settings, setting))
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(ERROR_ROOT.format(root=root, variable=variable, reason=exc)) from exc
        if not os.access(root, os.W_OK | os.X_OK):
            reason = "not writable by this user"
            raise BackupError(ERROR_ROOT.format(root=root, variable=variable, reason=reason))
