"""The embedded services on a private var/ dir: start, concurrent start, stale pids, stop."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from prodsim_site import embedded

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (embedded.uses_embedded_postgres() and embedded.uses_embedded_valkey()),
    reason="external DATABASE_URL/REDIS_URL configured",
)


def services(var_dir: Path, action: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PRODSIM_VALKEY_PORT"}
    env["PRODSIM_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "manage.py", "services", action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
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
    parent = Path(tempfile.mkdtemp(prefix="prodsim-embedded-test-"))
    yield parent / "var"
    services(parent / "var", "stop")
    shutil.rmtree(parent, ignore_errors=True)


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
