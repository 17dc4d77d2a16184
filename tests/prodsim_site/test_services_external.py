"""`manage.py services` where DATABASE_URL / REDIS_URL name external servers: nothing embedded is
started, stopped or written under var/ (root's in the Docker image), and status says where the
external servers are."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.processes import manage_services

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = {
    "DATABASE_URL": "postgres://shop:s3cret@db.example:5432/shop",
    "REDIS_URL": "rediss://:s3cret@cache.example:6380/2",
}


def services(var_dir: Path, action: str, **urls: str) -> subprocess.CompletedProcess:
    return manage_services(var_dir, action, DJANGO_SECRET_KEY="k" * 60, **urls)


@pytest.mark.parametrize("action", ["start", "stop"])
def test_start_and_stop_say_the_services_are_external_and_touch_nothing(tmp_path, action):
    result = services(tmp_path / "var", action, **EXTERNAL)

    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.startswith("External services are configured"), result.stdout
    assert not (tmp_path / "var").exists()  # no var/valkey/port, no var/.services.lock


def test_status_shows_where_the_external_servers_are_without_their_passwords(tmp_path):
    # It picked and wrote an embedded Valkey port, then reported redis://127.0.0.1:<it> as down.
    result = services(tmp_path / "var", "status", **EXTERNAL)

    assert result.returncode == 0, result.stderr[-500:]
    assert json.loads(result.stdout) == {
        "postgres": {
            "embedded": False,
            "external": {"host": "db.example", "port": 5432, "database": "shop"},
        },
        "valkey": {
            "embedded": False,
            "external": {"host": "cache.example", "port": 6380, "db": 2, "tls": True},
        },
    }
    assert "s3cret" not in result.stdout and not (tmp_path / "var").exists()


def test_with_only_redis_url_set_postgres_stays_embedded(tmp_path):
    result = services(tmp_path / "var", "status", REDIS_URL=EXTERNAL["REDIS_URL"])

    status = json.loads(result.stdout)
    assert status["postgres"]["embedded"] and not status["postgres"]["running"]
    assert status["valkey"]["external"]["host"] == "cache.example"
    assert not (tmp_path / "var" / "valkey").exists()
