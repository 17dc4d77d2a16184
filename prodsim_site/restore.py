"""Restore of a backup (backup.py writes them) into this installation: the database in one
transaction, then media and model artifacts, with the paths and state that belong to the old
server moved or forgotten."""

import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections

from .backup import DUMP_FILE, copy_tree
from .backup_clients import BackupError, client_binary, connection_args
from .restore_checks import PARTS, backup_checked
from .restore_state import artifact_paths_move, old_servers_state_forget
from .runner import demo_shop_file

ERROR_FILES = (
    "the database is restored, but copying the files failed: {reason}; make the folder writable "
    "and run restore again"
)
ERROR_CLIENT = "{binary} failed ({code}): {stderr}"
# Everything of the old database goes first, in the transaction the dump's statements then run in.
REPLACE_START = (
    b"SET client_min_messages = warning;\nBEGIN;\n"
    b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
)


def backup_restore(*, directory: Path) -> dict:
    """Restore a backup into this installation's database, MEDIA_ROOT and PRODSIM_MODELS_ROOT.

    Everything that can be checked is checked first (restore_checks); the database is replaced in
    one transaction (_database_replace): a failed restore leaves it as it was. Artifact paths move
    to this installation's models root. The schema may be an older release's until `migrate`."""
    manifest = backup_checked(directory)
    connections["default"].close()  # dropping the tables needs no session of ours in the way
    _database_replace(directory / DUMP_FILE)
    # What belongs to the old server is put right before the long copy of the files: a copy
    # that fails or is interrupted then leaves no database naming the old machine's paths.
    moved = artifact_paths_move(manifest["models_root"], str(settings.PRODSIM_MODELS_ROOT))
    old_servers_state_forget()
    # The demo's progress (var/ is not in a backup) describes the shop that was replaced: a first
    # `make run` stopped half way would otherwise complete the demo inside the restored shop.
    demo_shop_file().unlink(missing_ok=True)
    try:
        for part, _, setting, _ in PARTS:
            copy_tree(directory / part, Path(getattr(settings, setting)))
    except OSError as exc:  # a subfolder owned by another user, a full disk
        raise BackupError(ERROR_FILES.format(reason=exc)) from exc
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
