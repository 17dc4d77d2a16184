"""Restore of a backup (backup.py writes them) into this installation: the database in one
transaction, then media and model artifacts, with the paths and state that belong to the old
server moved or forgotten."""

import json
import shutil
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction

from .backup import (
    DUMP_FILE,
    MANIFEST_FILE,
    MEDIA_DIR,
    MODELS_DIR,
    BackupError,
    client_binary,
    connection_args,
    copy_tree,
)

# Model versions' absolute paths under PRODSIM_MODELS_ROOT, which a restore moves.
ARTIFACT_PATHS = {
    "similarity.ModelVersion": ["artifact_dir"],
    "behaviour.SequenceModelVersion": ["artifact_path", "vectors_path"],
}
ERROR_NOT_A_BACKUP = "{path} holds no prodsim backup (no manifest.json)"
ERROR_CLIENT = "{binary} failed ({code}): {stderr}"
# Everything of the old database goes first, in the transaction the dump's statements then run in.
REPLACE_START = (
    b"SET client_min_messages = warning;\nBEGIN;\n"
    b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
)


def backup_restore(*, directory: Path) -> dict:
    """Restore a backup into this installation's database, MEDIA_ROOT and PRODSIM_MODELS_ROOT.

    The database is replaced in one transaction (_database_replace): a failed restore leaves it
    as it was. Artifact paths move to this installation's models root."""
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError):
        raise BackupError(ERROR_NOT_A_BACKUP.format(path=directory)) from None
    connections["default"].close()  # dropping the tables needs no session of ours in the way
    _database_replace(directory / DUMP_FILE)
    copy_tree(directory / MEDIA_DIR, Path(settings.MEDIA_ROOT))
    copy_tree(directory / MODELS_DIR, Path(settings.PRODSIM_MODELS_ROOT))
    moved = _move_artifact_paths(manifest["models_root"], str(settings.PRODSIM_MODELS_ROOT))
    _forget_the_old_servers_state()
    return {**manifest, "artifact_paths_moved": moved}


def _database_replace(dump: Path) -> None:
    """Drop the schema and run the dump's statements (pg_restore writes them as SQL) in one psql
    transaction, committed only once pg_restore has written the whole dump: a damaged dump or a
    failing statement rolls everything back. Not `pg_restore --clean`: its drops fail on the
    event table's monthly partitions (it drops each one's inherited primary key first), so a
    restore over an installation that has events could never run."""
    arguments, env = connection_args()
    psql = subprocess.Popen(
        [client_binary("psql"), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1"]
        + ["--file=-", *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    script = subprocess.Popen(
        [client_binary("pg_restore"), "--no-owner", "--file=-", str(dump)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        psql.stdin.write(REPLACE_START)
        shutil.copyfileobj(script.stdout, psql.stdin)
        if script.wait() == 0:
            psql.stdin.write(b"COMMIT;\n")
        psql.stdin.close()
    except BrokenPipeError:  # psql stopped on an error: it says which below
        script.kill()
    dumped, restored = script.wait(), psql.wait()
    if restored != 0:
        raise BackupError(_client_error("psql", restored, psql.stderr.read()))
    if dumped != 0:  # nothing was committed
        raise BackupError(_client_error("pg_restore", dumped, script.stderr.read()))


def _client_error(binary: str, code: int, stderr: bytes) -> str:
    return ERROR_CLIENT.format(binary=binary, code=code, stderr=stderr.decode().strip())


def _move_artifact_paths(old_root: str, new_root: str) -> int:
    """Point model versions at the restored artifacts; the number of versions moved. Only paths
    inside old_root move, not those of a sibling folder (models2)."""
    if old_root == new_root:
        return 0
    moved, inside = 0, old_root.rstrip("/") + "/"
    for label, fields in ARTIFACT_PATHS.items():
        for version in apps.get_model(label).objects.all():
            changed = [name for name in fields if getattr(version, name).startswith(inside)]
            for name in changed:
                path = getattr(version, name)[len(inside) :]
                setattr(version, name, new_root.rstrip("/") + "/" + path)
            if changed:
                version.save(update_fields=changed)
                moved += 1
    return moved


def _forget_the_old_servers_state() -> None:
    """Lists and verified keys cached before the restore describe another database: generation
    bumps hide them. The behaviour counts start again with a full rebuild: pg_restore copies the
    old server's transaction ids (behaviour_eventkey.xact, the count state's snapshot), which tell
    the refresh which events are new, while a fresh cluster counts from lower ones. Stamped with
    this transaction, every key is older than any later snapshot."""
    from behaviour.models import BehaviourCountState, RebuildRequest
    from partners import keys as partner_keys
    from similarity import cache

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE behaviour_eventkey SET xact = pg_current_xact_id()")
        BehaviourCountState.objects.all().delete()  # the next refresh is a full rebuild
        RebuildRequest.objects.create(reason="restored from a backup")
    cache.serving_changed()
    partner_keys.keys_changed()
