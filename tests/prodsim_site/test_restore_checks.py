"""`restore` refuses a damaged or foreign backup folder before the database is replaced, and
restores a backup of an older release (README: restore, then migrate). pg_restore is replaced by
a stand-in that records that it ran (the real round trip is tests/faults/test_backup_restore.py)."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from behaviour.models import RebuildRequest, SequenceModelVersion
from prodsim_site import backup
from prodsim_site import restore as restoring

pytestmark = pytest.mark.django_db

MANIFEST = {
    "format": backup.FORMAT_VERSION,
    "created_at": "2026-01-01T00:00:00+00:00",
    "database": "prodsim",
    "media_root": "/old/var/media",
    "models_root": "/old/var/models",
    "media_files": 1,
    "model_files": 1,
}


def a_backup(folder: Path, **manifest) -> Path:
    """A complete backup folder as `manage.py backup` writes it (a stand-in dump)."""
    (folder / "media" / "products").mkdir(parents=True)
    (folder / "media" / "products" / "a.jpg").write_bytes(b"jpeg")
    (folder / "models" / "v1").mkdir(parents=True)
    (folder / "models" / "v1" / "model.tflite").write_bytes(b"tflite")
    (folder / "database.dump").write_bytes(b"PGDMP stand-in")
    (folder / "manifest.json").write_text(json.dumps({**MANIFEST, **manifest}))
    return folder


@pytest.fixture
def replaced(settings, tmp_path, monkeypatch):
    """Each call of the database replacement (it would have dropped and rewritten the schema)."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "new-models"
    calls = []
    monkeypatch.setattr(restoring, "_database_replace", calls.append)
    monkeypatch.setattr(connections["default"], "close", lambda: None)
    return calls


def restore_command(folder: Path) -> None:
    call_command("restore", str(folder), stdout=io.StringIO())


def test_a_complete_backup_is_restored_with_its_files(replaced, settings, tmp_path):
    restore_command(a_backup(tmp_path / "backup"))

    assert len(replaced) == 1
    assert (settings.MEDIA_ROOT / "products" / "a.jpg").read_bytes() == b"jpeg"
    assert (settings.PRODSIM_MODELS_ROOT / "v1" / "model.tflite").read_bytes() == b"tflite"


def test_a_backup_of_a_later_format_is_refused(replaced, tmp_path):
    folder = a_backup(tmp_path / "backup", format=backup.FORMAT_VERSION + 1)

    with pytest.raises(CommandError, match="format 2, written by a later prodsim release"):
        restore_command(folder)
    assert replaced == []


@pytest.mark.parametrize("text", ["", '{"format": 1, "created_at": "2026-01-01T00:0', "[]"])
def test_a_damaged_manifest_is_refused_naming_the_file(replaced, tmp_path, text):
    folder = a_backup(tmp_path / "backup")
    (folder / "manifest.json").write_text(text)

    with pytest.raises(CommandError, match="manifest.json is damaged"):
        restore_command(folder)
    assert replaced == []


@pytest.mark.parametrize("part", ["models", "media"])
def test_a_backup_without_a_folder_its_manifest_lists_is_refused(replaced, tmp_path, part):
    # Copied off the machine without it: every model version (or image) would point nowhere.
    folder = a_backup(tmp_path / "backup")
    for path in sorted((folder / part).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (folder / part).rmdir()

    with pytest.raises(CommandError, match=f"holds 0 of the 1 files its manifest lists in {part}/"):
        restore_command(folder)
    assert replaced == []


def test_a_backup_without_its_dump_is_refused(replaced, tmp_path):
    folder = a_backup(tmp_path / "backup")
    (folder / "database.dump").unlink()

    with pytest.raises(CommandError, match="has no database.dump"):
        restore_command(folder)
    assert replaced == []


def test_a_media_folder_that_cannot_be_written_is_refused_first(replaced, settings, tmp_path):
    # The copy failed after the database was replaced: half a restore and a traceback.
    (tmp_path / "blocked").write_bytes(b"a file where a folder should be")
    settings.MEDIA_ROOT = tmp_path / "blocked" / "media"

    with pytest.raises(CommandError, match="cannot write .*blocked/media .PRODSIM_MEDIA_ROOT."):
        restore_command(a_backup(tmp_path / "backup"))
    assert replaced == []


def test_a_copy_failing_after_the_database_is_replaced_says_to_run_restore_again(
    replaced, settings, tmp_path
):
    (settings.MEDIA_ROOT / "products").write_bytes(b"a file where the backup has a folder")

    with pytest.raises(CommandError, match="the database is restored.*run restore again"):
        restore_command(a_backup(tmp_path / "backup"))


def test_a_backup_of_an_older_release_is_restored_before_migrate(replaced, tmp_path):
    """The schema after pg_restore is the backup's release's; today's models select columns it
    lacks (here behaviour 0007's, dropped in the test's own transaction)."""
    version = SequenceModelVersion.objects.create(
        status="active", architecture="gru", artifact_path="/old/var/models/sequence/v1/m.npz"
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE behaviour_sequencemodelversion DROP COLUMN vectors_stored_at")

    restored = restoring.backup_restore(directory=a_backup(tmp_path / "backup"))

    assert restored["artifact_paths_moved"] == 1
    moved = SequenceModelVersion.objects.values_list("artifact_path", flat=True).get(pk=version.pk)
    assert moved == str(tmp_path / "new-models" / "sequence" / "v1" / "m.npz")
    assert RebuildRequest.objects.values_list("reason", flat=True).get() == "restored from a backup"


def test_a_restore_forgets_the_demo_shop_a_stopped_first_run_left_to_complete(
    replaced, tmp_path, monkeypatch
):
    from prodsim_site.runner import DEMO_STARTED, demo_shop_file

    monkeypatch.setenv("PRODSIM_VAR_DIR", str(tmp_path / "var"))
    demo_shop_file().parent.mkdir()
    demo_shop_file().write_text(DEMO_STARTED + "\n")

    restore_command(a_backup(tmp_path / "backup"))

    assert not demo_shop_file().exists()
