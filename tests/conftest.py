"""Test-run wiring: real embedded PostgreSQL+pgvector and Valkey (or the env URLs when set)."""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from prodsim_site import embedded
from prodsim_site.embedded import paths
from prodsim_site.embedded.bootstrap import start_embedded_services
from tests.processes import database_url_for_subprocess

# Test runs that share the embedded servers register here; the last one out stops them, and
# only when a test run (not `make run`) started them, so concurrent runs never lose their servers.
_RUNS_DIR = paths.var_dir() / "test-runs"
_STARTED_MARKER = _RUNS_DIR / "started-by-tests"


@contextmanager
def _runs_lock():
    _RUNS_DIR.mkdir(parents=True, exist_ok=True)
    with open(_RUNS_DIR / "lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def _live_runs() -> list[Path]:
    live = []
    for pid_file in _RUNS_DIR.glob("*.pid"):
        try:
            os.kill(int(pid_file.stem), 0)
            live.append(pid_file)
        except (ValueError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)  # a run that died without cleaning up
        except PermissionError:
            live.append(pid_file)
    return live


def pytest_configure(config):
    # Before pytest-django's django_db_setup creates test_prodsim on the server. Servers that a
    # running `make run` already provides are shared (tests use their own database and broker db).
    with _runs_lock():
        status = embedded.status()
        if any(s["embedded"] and not s["running"] for s in status.values()):
            _STARTED_MARKER.touch()
        (_RUNS_DIR / f"{os.getpid()}.pid").touch()
        start_embedded_services()


def pytest_unconfigure(config):
    with _runs_lock():
        (_RUNS_DIR / f"{os.getpid()}.pid").unlink(missing_ok=True)
        if _STARTED_MARKER.exists() and not _live_runs():
            _STARTED_MARKER.unlink()
            embedded.stop()


@pytest.fixture(autouse=True)
def fresh_similar_cache():
    """Cached similar lists are keyed by SKU and outlive a test's rolled-back rows."""
    from similarity import cache as similar_cache

    similar_cache.reset()


@pytest.fixture(autouse=True)
def fresh_counters():
    """Throttle windows (erasures, the API) and sign-in failure counts live in Valkey for the
    whole run, keyed by the test client's one address: one test's erasures or failed sign-ins
    counted against a later test's, which then met a 429 or a paused sign-in by test order."""
    from django.core.cache import cache

    for pattern in ("throttle_*", "sign-in-failures:*"):
        cache.delete_matching(pattern)


@pytest.fixture(autouse=True)
def parallel_reads_closed():
    """Pool threads keep their connections; a test database cannot be dropped under them."""
    yield
    from core.parallel_reads import pool_shutdown

    pool_shutdown()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores files in its own folder, so tests never see each other's images."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def models_root(settings, tmp_path):
    """Trained models go under this test's tmp_path. Not autouse: the modules that train tiny
    models apply it with `pytestmark = pytest.mark.usefixtures("models_root")`."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    return settings.PRODSIM_MODELS_ROOT


@pytest.fixture
def celery_worker_process(settings, media_root):
    """Start a real `celery worker` child on the test database and broker; yield a stopper.

    Used with transactional tests, so the worker sees committed rows. The queues are purged
    first so tasks left by an aborted earlier run never reach this worker.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    import redis

    started = []

    def start(queues: str = "default", extra_env: dict | None = None) -> subprocess.Popen:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
        client.delete(*(prefix + queue for queue in queues.split(",")))
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "PRODSIM_MEDIA_ROOT": str(media_root),
            **(extra_env or {}),
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "prodsim_site",
                "worker",
                "-Q",
                queues,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def partner_client(client, db):
    """A test client that sends a fresh read+write partner API key."""
    from partners.models import PartnerApiKey

    _, key = PartnerApiKey.objects.create_key(name="test partner", scope="write")
    client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    return client
