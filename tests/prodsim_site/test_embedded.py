"""The embedded services on a private var/ dir: start, concurrent start, stale pids, stop."""

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured

from prodsim_site import embedded
from prodsim_site.embedded import postgres, postgres_setup, valkey
from tests.processes import manage_services as services

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (embedded.uses_embedded_postgres() and embedded.uses_embedded_valkey()),
    reason="external DATABASE_URL/REDIS_URL configured",
)


def status(var_dir: Path) -> dict:
    result = services(var_dir, "status")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def connect(var_dir: Path):
    return psycopg.connect(
        host=str(var_dir / "pg"), user="postgres", dbname="prodsim", autocommit=True
    )


@pytest.fixture
def var_dir():
    # Not under pytest's tmp_path: every pytest session that starts (another checkout's, a second
    # run's) makes /tmp/pytest-of-<user> private again, and the server's unprivileged user would
    # lose its way to the data directory half way through the test.
    yield from _private_var_dir("prodsim-embedded-test-")


def _private_var_dir(prefix: str):
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    yield parent / "var"
    services(parent / "var", "stop")
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def spaced_var_dir():
    yield from _private_var_dir("prodsim embedded test ")


def test_both_servers_start_in_a_folder_whose_path_has_a_space(spaced_var_dir):
    """pg_ctl's shell split the socket folder, Valkey's config its dir: neither started from a
    checkout in a folder such as "My Projects"."""
    spaced_var_dir.parent.chmod(0o755)  # PostgreSQL's own user (pg_ctl runs as it) enters it

    started = services(spaced_var_dir, "start")

    assert started.returncode == 0, started.stderr
    state = status(spaced_var_dir)
    assert state["postgres"]["running"] and state["valkey"]["running"]
    with connect(spaced_var_dir) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("value", ["lots", "1 gigabyte", "0MB"])
def test_a_shared_buffers_size_postgres_would_refuse_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("PRODSIM_PG_SHARED_BUFFERS", value)

    with pytest.raises(ImproperlyConfigured, match="PRODSIM_PG_SHARED_BUFFERS"):
        postgres.server_options()


def test_start_is_idempotent_concurrent_and_survives_stale_pid_files(var_dir):
    with ThreadPoolExecutor(3) as pool:  # three processes ask at once, as web/worker/tests do
        results = list(pool.map(lambda _: services(var_dir, "start"), range(3)))
    assert [result.returncode for result in results] == [0, 0, 0], results[0].stderr

    state = status(var_dir)
    assert state["postgres"]["running"] and state["valkey"]["running"]
    port = int((var_dir / "valkey" / "port").read_text())
    assert state["valkey"]["url"] == f"redis://127.0.0.1:{port}/0"
    config = (var_dir / "valkey" / "valkey.conf").read_text()
    for line in ["bind 127.0.0.1", "appendonly yes", "maxmemory-policy noeviction"]:
        assert line in config.splitlines()
    with connect(var_dir) as conn:
        conn.execute("CREATE TABLE kept (value int)")
        conn.execute("INSERT INTO kept VALUES (42)")
        assert (
            conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[
                0
            ]
            >= "0.8"
        )

    stopped = services(var_dir, "stop")
    assert stopped.stdout.strip() == "postgres: stopped, valkey: stopped", stopped.stderr
    assert not status(var_dir)["postgres"]["running"]
    # A crash leaves pid files behind whose pids are gone (or reused by another process).
    (var_dir / "pg" / "postmaster.pid").write_text(f"{os.getpid()}\n{var_dir}/pg\n")
    (var_dir / "valkey" / "valkey.pid").write_text("999999\n")

    assert services(var_dir, "start").returncode == 0
    with connect(var_dir) as conn:  # data survived the stop and the restart
        assert conn.execute("SELECT value FROM kept").fetchone() == (42,)
    assert status(var_dir)["valkey"]["running"]


def test_a_server_that_cannot_start_says_why(tmp_path):
    var_dir = tmp_path / "var"
    (var_dir / "pg").mkdir(parents=True)
    (var_dir / "pg" / "PG_VERSION").write_text("18\n")  # looks initialised but is not

    result = services(var_dir, "start")

    assert result.returncode != 0
    assert "PostgreSQL did not start" in result.stderr


@pytest.fixture
def private_var(var_dir, monkeypatch):
    """A var/ dir that PostgreSQL's own user may enter (pg_ctl runs as it), used in-process."""
    var_dir.parent.chmod(0o755)
    (var_dir / "pg").mkdir(parents=True)
    monkeypatch.setenv("PRODSIM_VAR_DIR", str(var_dir))
    monkeypatch.delenv("PRODSIM_VALKEY_PORT", raising=False)
    return var_dir


def stale_postmaster_pid(var_dir: Path, pid: int) -> None:
    """What a crash (its pid now dead) or a reboot (its pid now another process's) leaves."""
    pg = var_dir / "pg"
    (pg / "PG_VERSION").write_text("18\n")  # so that pg_ctl takes it for a data directory
    (pg / "postmaster.pid").write_text(f"{pid}\n{pg}\n")
    if user := postgres_setup.run_as():
        entry = pwd.getpwnam(user)
        for path in (var_dir, pg, pg / "PG_VERSION", pg / "postmaster.pid"):
            os.chown(path, entry.pw_uid, entry.pw_gid)


def test_stop_after_a_crash_says_was_not_running_for_both_servers(private_var):
    crashed = subprocess.Popen(["true"])
    crashed.wait()
    stale_postmaster_pid(private_var, crashed.pid)

    stopped = services(private_var, "stop")

    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "postgres: was not running, valkey: was not running"


def test_stop_leaves_alone_a_process_that_reused_the_servers_pid(private_var, monkeypatch):
    monkeypatch.setattr(postgres, "STOP_TIMEOUT_S", 5)  # pg_ctl would wait for it to go
    # The server's own user may signal it, as pg_ctl (run as that user) would.
    other = subprocess.Popen(["sleep", "60"], user=postgres_setup.run_as())
    try:
        stale_postmaster_pid(private_var, other.pid)

        assert postgres.stop() is False

        time.sleep(0.5)
        assert other.poll() is None, "stop signalled an unrelated process"
    finally:
        other.kill()
        other.wait()


def test_a_server_that_fails_to_stop_still_lets_the_other_stop(private_var, monkeypatch):
    def broken_stop():
        raise postgres.PostgresStopError("pg_ctl stop failed: timed out")

    valkey_stops = []
    monkeypatch.setattr(postgres, "stop", broken_stop)
    monkeypatch.setattr(valkey, "stop", lambda: valkey_stops.append(1) or True)

    with pytest.raises(embedded.ServicesStopError) as raised:
        embedded.stop()

    assert valkey_stops == [1]
    assert str(raised.value) == "postgres: failed: pg_ctl stop failed: timed out, valkey: stopped"


def test_the_services_command_says_why_a_server_did_not_stop(private_var, monkeypatch):
    from django.core.management import CommandError, call_command

    def broken_stop():
        raise postgres.PostgresStopError("pg_ctl stop failed: timed out")

    monkeypatch.setattr(postgres, "stop", broken_stop)
    monkeypatch.setattr(valkey, "stop", lambda: True)

    with pytest.raises(CommandError, match="postgres: failed: pg_ctl stop failed: timed out"):
        call_command("services", "stop")
