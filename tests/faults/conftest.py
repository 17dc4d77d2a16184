"""Fault-injection fixtures: prefork workers with test-only faults, broker inspection, a tiny
exported model, and throwaway PostgreSQL/Valkey servers that a test may restart.

The shared servers under var/ serve other test runs: nothing here stops or restarts them. A test
that restarts a server starts its own under tmp_path through the same prodsim_site.embedded
helpers, pointed there by PRODSIM_VAR_DIR.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

from tests.processes import database_url_for_subprocess

from .processes import ROOT, PrivateServices, Worker, wait_until


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def broker(settings):
    """The test run's broker keys: queue lengths and messages delivered but not acknowledged."""

    class Broker:
        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")

        def __init__(self, url: str):
            self.client = redis.Redis.from_url(url)

        def queued(self, queue: str) -> int:
            return self.client.llen(self.prefix + queue)

        def unacked(self) -> int:
            return self.client.hlen(self.prefix + "unacked")

        def purge(self, *queues: str) -> None:
            self.client.delete(*(self.prefix + q for q in queues), self.prefix + "unacked")
            self.client.delete(self.prefix + "unacked_index")

    return Broker(settings.CELERY_BROKER_URL)


@pytest.fixture
def fault_worker(settings, media_root, tmp_path, broker):
    """Start `celery -A tests.faults.faulty_worker worker` (prefork, concurrency 1)."""
    started: list[Worker] = []

    def start(queues: str, *, faults: dict | None = None, env: dict | None = None) -> Worker:
        if not env or "REDIS_URL" not in env:
            broker.purge(*queues.split(","))
        log = tmp_path / f"worker-{len(started)}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "PRODSIM_MEDIA_ROOT": str(media_root),
            "PRODSIM_MODELS_ROOT": str(settings.PRODSIM_MODELS_ROOT),
            "PRODSIM_TEST_FAULTS": json.dumps(faults or {}),
            **(env or {}),
        }
        environment = {key: value for key, value in environment.items() if value is not None}
        with open(log, "w") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "tests.faults.faulty_worker",
                    "worker",
                    "-Q",
                    queues,
                    "--pool",
                    "prefork",
                    "--concurrency",
                    "1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "INFO",
                    "-n",
                    f"fault-{os.getpid()}-{time.monotonic_ns()}@%h",
                ],
                cwd=ROOT,
                env=environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log)
        started.append(worker)
        wait_until(lambda: "ready." in worker.output(), timeout=60, worker=worker, what="ready")
        return worker

    yield start
    for worker in started:
        if worker.alive():
            worker.process.send_signal(signal.SIGTERM)
            try:
                worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory) -> Path:
    """An exported (untrained) small-CNN embedding model: 32 px in, 8-d unit vectors out.

    Fault tests need a model a worker can load quickly, not a good one; building it once per
    session keeps TensorFlow out of every test's time.
    """
    import keras
    import numpy as np

    from similarity.ml.backbones import build_backbone
    from similarity.ml.export import export_model

    keras.utils.set_random_seed(7)
    backbone = build_backbone("small_cnn", input_size=32, weights="none").model
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.UnitNormalization()(keras.layers.Dense(8)(backbone(inputs)))
    directory = tmp_path_factory.mktemp("tiny_model")
    check = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    export_model(keras.Model(inputs, outputs), directory=directory, metadata={}, check_images=check)
    return directory


@pytest.fixture
def private_services():
    # Not under tmp_path: every pytest run resets /tmp/pytest-of-<user> to mode 0700, which
    # locks the embedded_postgres system user (servers run as it under root) out of its data.
    root = Path(tempfile.mkdtemp(prefix="prodsim-faults-"))
    services = PrivateServices(root / "var")
    yield services
    services.stop()
    shutil.rmtree(root, ignore_errors=True)
