"""`restore` on another machine (prodsim_site.backup): model versions point at the new models
root, the behaviour counts start again on the new server's transaction ids, and bad folders are
refused with a message. pg_restore itself is replaced by what it leaves in the database (the real
round trip is tests/faults/test_backup_restore.py)."""

import io
import json
import subprocess
from pathlib import Path

import dj_database_url
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from psycopg.conninfo import conninfo_to_dict

from behaviour.models import BehaviourCountState, PairCount, SequenceModelVersion
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from catalog.models import Product
from prodsim_site import backup, backup_clients
from prodsim_site import restore as restoring
from similarity.models import ModelVersion
from tests.behaviour.factories import order
from tests.catalog.factories import product

# An old, busy server's transaction counter, far ahead of the fresh cluster restored into.
XIDS_AHEAD = 1_000_000


def a_backup(folder: Path, *, models_root: Path) -> Path:
    """A backup folder as `manage.py backup` writes it on the old machine (no dump needed)."""
    (folder / "models").mkdir(parents=True)
    manifest = {
        "format": 1,
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": "prodsim",
        "media_root": str(folder.parent / "old-media"),
        "models_root": str(models_root),
        "media_files": 0,
        "model_files": 0,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "database.dump").write_bytes(b"PGDMP stand-in")
    return folder


@pytest.fixture
def restore(settings, tmp_path, monkeypatch):
    """Restore a backup made under another models root; the database stays as the test left it
    (what pg_restore wrote)."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "new-models"
    monkeypatch.setattr(restoring, "_database_replace", lambda dump: None)
    monkeypatch.setattr(connections["default"], "close", lambda: None)
    folder = a_backup(tmp_path / "backup", models_root=tmp_path / "old-models")
    return lambda: restoring.backup_restore(directory=folder)


# --- model artifacts ---------------------------------------------------------------------


def image_version(*, artifact_dir: str) -> ModelVersion:
    return ModelVersion.objects.create(
        status="ready",
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        artifact_dir=artifact_dir,
    )


@pytest.mark.django_db
def test_restore_moves_every_kind_of_model_version_to_the_new_models_root(restore, tmp_path):
    old, new = tmp_path / "old-models", tmp_path / "new-models"
    image = image_version(artifact_dir=str(old / "v9"))
    sequence = SequenceModelVersion.objects.create(
        status="active",
        architecture="gru",
        artifact_path=str(old / "sequence" / "v1" / "model.npz"),
        vectors_path=str(old / "sequence" / "v1" / "vectors.npz"),
    )

    assert restore()["artifact_paths_moved"] == 2

    image.refresh_from_db()
    sequence.refresh_from_db()
    assert image.artifact_dir == str(new / "v9")
    assert sequence.artifact_path == str(new / "sequence" / "v1" / "model.npz")
    assert sequence.vectors_path == str(new / "sequence" / "v1" / "vectors.npz")


@pytest.mark.django_db
@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_a_restore_stopped_while_it_copies_files_leaves_no_old_paths(
    restore, tmp_path, monkeypatch, stop
):
    image = image_version(artifact_dir=str(tmp_path / "old-models" / "v9"))

    def copy_tree(source, target):
        raise stop

    monkeypatch.setattr(restoring, "copy_tree", copy_tree)
    with pytest.raises((KeyboardInterrupt, backup_clients.BackupError)):
        restore()

    image.refresh_from_db()
    assert image.artifact_dir == str(tmp_path / "new-models" / "v9")


@pytest.mark.django_db
def test_restore_leaves_the_paths_of_a_sibling_folder_alone(restore, tmp_path):
    sibling = str(tmp_path / "old-models2" / "v3")  # starts with the old root's text
    image = image_version(artifact_dir=sibling)
    sequence = SequenceModelVersion.objects.create(
        status="ready", architecture="gru", artifact_path=sibling + "/model.npz"
    )

    assert restore()["artifact_paths_moved"] == 0

    image.refresh_from_db()
    sequence.refresh_from_db()
    assert (image.artifact_dir, sequence.artifact_path) == (sibling, sibling + "/model.npz")


# --- behaviour counts ---------------------------------------------------------------------


def baskets(one: str, other: str) -> int | None:
    ids = dict(Product.objects.values_list("sku", "pk"))
    row = PairCount.objects.filter(
        kind="bought_together", product_id=ids[one], other_id=ids[other]
    ).first()
    return row and row.baskets


def keys_and_state_of_a_busier_server() -> None:
    """What pg_restore copies onto a fresh cluster: keys and state with the old server's ids."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        old_xid = cursor.fetchone()[0] + XIDS_AHEAD
        cursor.execute("UPDATE behaviour_eventkey SET xact = %s::text::xid8", [str(old_xid)])
    BehaviourCountState.objects.update(snapshot=f"{old_xid + 1}:{old_xid + 1}:")


@pytest.fixture
def restored_shop(restore):
    for sku in "ABCD":
        product(sku=sku, title=f"Product {sku}")
    events_record(items=order(["A", "B"], "v1", "o1"))
    behaviour_refresh()  # counted on the old server
    assert baskets("A", "B") == 1
    keys_and_state_of_a_busier_server()
    restore()


@pytest.mark.django_db(transaction=True)  # new events are told by snapshots: separate commits
def test_orders_after_a_restore_reach_the_counts(restored_shop):
    events_record(items=order(["C", "D"], "v2", "o2"))  # a new order on the new machine

    behaviour_refresh()  # beat's next tick

    assert (baskets("A", "B"), baskets("C", "D")) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_after_a_restore_leaves_the_restored_events_counted_once(restored_shop):
    behaviour_refresh(full=True)  # the admin's "Refresh now", or the daily rebuild
    behaviour_refresh()  # the next beat ticks: increments
    behaviour_refresh()

    assert baskets("A", "B") == 1


# --- bad folders ---------------------------------------------------------------------------


def test_backup_refuses_a_file_given_as_the_folder(tmp_path):
    target = tmp_path / "backup.tar"
    target.write_bytes(b"not a folder")

    with pytest.raises(CommandError, match="is a file, not a folder"):
        call_command("backup", str(target), stdout=io.StringIO())


def test_a_folder_that_cannot_be_made_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "backups").write_bytes(b"a file where a folder should be")  # or no permission

    with pytest.raises(CommandError, match="cannot write the backup into .*backups/today"):
        call_command("backup", str(tmp_path / "backups" / "today"), stdout=io.StringIO())


@pytest.mark.django_db
def test_a_backup_that_fails_half_way_leaves_no_half_backup_behind(tmp_path, monkeypatch):
    def pg_dump(binary, args):  # the dump is written, then the disk fills while copying
        Path(args[args.index("--file") + 1]).write_bytes(b"dump")

    def copy_tree(source, target):
        target.mkdir(parents=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "run_client", pg_dump)
    monkeypatch.setattr(backup, "copy_tree", copy_tree)
    folder = tmp_path / "backup"

    with pytest.raises(CommandError, match="No space left on device"):
        call_command("backup", str(folder), stdout=io.StringIO())
    assert list(folder.iterdir()) == []


def test_restore_refuses_a_file_given_as_the_backup(tmp_path):
    target = tmp_path / "backup.tar"
    target.write_bytes(b"not a folder")

    with pytest.raises(backup_clients.BackupError, match="holds no prodsim backup"):
        restoring.backup_restore(directory=target)


def as_database_url(url: str) -> dict:
    """The default database as settings.py reads it from this DATABASE_URL."""
    return {**connections["default"].settings_dict, **dj_database_url.parse(url, conn_max_age=60)}


SERVER_AND_DATABASE = "select current_setting('data_directory') || '|' || current_database()"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["postgresql://{user}@/{name}?host={socket}", "postgresql:///{name}?host={socket}&user={user}"],
)
def test_the_client_tools_reach_the_apps_database_when_the_url_puts_the_host_in_its_query(
    monkeypatch, url
):
    """Cloud SQL's and libpq's socket forms: with only HOST/PORT/USER/NAME passed on, pg_dump and
    restore's psql (DROP SCHEMA first) went to libpq's default server instead."""
    with connection.cursor() as cursor:
        cursor.execute(SERVER_AND_DATABASE)
        apps_database = cursor.fetchone()[0]
    db = connections["default"].settings_dict
    url = url.format(user=db["USER"], name=db["NAME"], socket=db["HOST"])
    database = {**as_database_url(url), "PASSWORD": db["PASSWORD"]}  # where the server wants one
    monkeypatch.setattr(connections["default"], "settings_dict", database)

    arguments, env = backup_clients.connection_args()
    psql = [backup_clients.client_binary("psql"), "--no-psqlrc", "-XAtc", SERVER_AND_DATABASE]
    result = subprocess.run(
        [*psql, *arguments], env=env, capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stdout.strip()) == (0, apps_database), result.stderr


def test_the_urls_libpq_options_reach_the_client_tools_and_the_password_stays_off_argv(
    monkeypatch,
):
    """?sslmode=verify-full dropped, a dump would go over a plain connection (or an SSL-only
    server refuse it); Django's own OPTIONS mean nothing to libpq; `ps` shows the argv."""
    url = "postgres://shop:s3cret@db:5432/shop?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem"
    database = as_database_url(url)
    database["OPTIONS"]["isolation_level"] = 1
    monkeypatch.setattr(connections["default"], "settings_dict", database)

    arguments, env = backup_clients.connection_args()

    assert conninfo_to_dict(arguments[-1]) == {
        "dbname": "shop",
        "user": "shop",
        "host": "db",
        "port": "5432",
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/ca.pem",
    }
    assert "s3cret" not in " ".join(arguments) and env["PGPASSWORD"] == "s3cret"


def test_the_client_tools_come_from_prodsim_pg_bin_when_set(settings, tmp_path):
    """The embedded build has no SSL support: a shop whose server requires SSL names its own
    PostgreSQL 18 client tools."""
    embedded_build = backup_clients.POSTGRES_BIN_PATH
    assert backup_clients.client_binary("pg_dump") == str(embedded_build / "pg_dump")
    settings.PRODSIM_PG_BIN = str(tmp_path)
    assert backup_clients.client_binary("pg_dump") == str(tmp_path / "pg_dump")


@pytest.fixture
def shop_files(settings, media_root, tmp_path, monkeypatch):
    """Media and model files to back up; pg_dump writes a stand-in dump."""

    def pg_dump(binary, args):
        Path(args[args.index("--file") + 1]).write_bytes(b"PGDMP stand-in")

    monkeypatch.setattr(backup, "run_client", pg_dump)
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    (media_root / "products").mkdir()
    (media_root / "products" / "a.jpg").write_bytes(b"jpeg")
    (settings.PRODSIM_MODELS_ROOT / "v1").mkdir(parents=True)
    (settings.PRODSIM_MODELS_ROOT / "v1" / "model.tflite").write_bytes(b"tflite")


@pytest.mark.django_db
@pytest.mark.parametrize("root", ["MEDIA_ROOT", "PRODSIM_MODELS_ROOT"])
def test_a_backup_folder_inside_a_folder_it_copies_is_refused(shop_files, settings, root):
    # The copy of the folder would copy the backup into itself until the path is too long.
    folder = Path(getattr(settings, root)) / "backups" / "today"

    with pytest.raises(CommandError, match=f"is inside {root}"):
        call_command("backup", str(folder), stdout=io.StringIO())
    assert not folder.exists()


@pytest.mark.django_db
def test_a_backup_beside_the_copied_folders_holds_their_files(shop_files, tmp_path):
    call_command("backup", str(tmp_path / "backup"), stdout=io.StringIO())

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert (manifest["media_files"], manifest["model_files"]) == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["backup", "restore"])
def test_client_tools_missing_from_prodsim_pg_bin_are_named_before_anything_is_done(
    settings, tmp_path, monkeypatch, command
):
    # README suggests /usr/lib/postgresql/18/bin: without postgresql-client-18 installed there,
    # the command was a FileNotFoundError traceback.
    settings.PRODSIM_PG_BIN = str(tmp_path / "postgresql" / "18" / "bin")
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    replaced = []
    monkeypatch.setattr(restoring, "_database_replace", replaced.append)
    folder = tmp_path / "backup"
    if command == "restore":
        a_backup(folder, models_root=tmp_path / "old-models")

    with pytest.raises(CommandError, match="PRODSIM_PG_BIN .* postgresql-client-18"):
        call_command(command, str(folder), stdout=io.StringIO())
    assert replaced == []
    assert command == "restore" or not folder.exists()
