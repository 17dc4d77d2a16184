"""Whole workers killed or paused, and a database down past the retry budget: the reaper sends each
silent job back exactly once and the job resumes through its usual claim.

Real prefork workers (tests.faults.faulty_worker) with short heartbeat settings in their
environment; the reaper runs on a real `celery beat` in one test and is called directly in the
others (the same function the beat task runs), so each test waits only for the silence it needs.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from catalog.models import ImportJob, Product, ProductImage
from catalog.services import import_job_create
from core.jobs.reaper import jobs_reap
from similarity.models import ImageEmbedding, Job, ProductEmbedding
from similarity.services import model_version_create
from similarity.services.reembed import reembed_request
from tests.catalog.factories import csv_bytes, shape_catalogue, write

from .factories import tiny_version
from .processes import ROOT, Worker, wait_until

pytestmark = [pytest.mark.worker]

BATCH = 8  # 24 images → 3 batches
STALE_S = 2  # the reaper's timeout in these tests (default 120)
FAST_HEARTBEATS = {"PRODSIM_JOB_HEARTBEAT_S": "0.5", "PRODSIM_JOB_STALE_S": str(STALE_S)}


@pytest.fixture
def fast_reaper(settings):
    settings.PRODSIM_JOB_HEARTBEAT_S, settings.PRODSIM_JOB_STALE_S = 0.5, STALE_S


def kill_whole_worker(worker: Worker) -> None:
    """SIGKILL the parent and its children at once, as a machine or container dying would."""
    pids = [worker.process.pid, *worker.child_pids()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    worker.process.wait()


def reap_until_requeued(timeout: float = 30) -> tuple[list, float]:
    """Run the reaper until it requeues something; what it requeued and the seconds it took."""
    start = time.monotonic()
    reaped = wait_until(jobs_reap, timeout=timeout, what="the reaper requeued the job")
    return reaped, time.monotonic() - start


def finished(job) -> bool:
    job.refresh_from_db()
    return job.is_finished


def catalogue_csv(path, skus: list[str]):
    rows = [{"sku": sku, "title": f"Mug {sku}", "price": "5"} for sku in skus]
    return write(path, csv_bytes(rows, header=["sku", "title", "price"]))


@pytest.mark.django_db(transaction=True)
def test_a_killed_whole_worker_embedding_job_is_requeued_and_finishes_exactly_once(
    tmp_path, tiny_artifact, fault_worker, fast_reaper
):
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 products, one image each
    version = tiny_version(tiny_artifact)
    hold = tmp_path / "hold"
    hold.mkdir()
    first = fault_worker("ml", faults={"hold_embed_batch": str(hold)}, env=FAST_HEARTBEATS)
    job = reembed_request(version=version, only_missing=False, batch_size=BATCH)
    wait_until((hold / "held").exists, timeout=60, worker=first, what="first batch written")

    kill_whole_worker(first)
    killed_at = time.monotonic()
    second = fault_worker("ml", env=FAST_HEARTBEATS)  # its message died with the first worker
    reaped, _ = reap_until_requeued()
    wait_until(lambda: finished(job), timeout=90, worker=second, what="job finished")
    recovered_s = time.monotonic() - killed_at

    assert [r.job for r in reaped] == [f"similarity.Job {job.pk}"]
    assert (job.state, job.attempts, job.error) == ("succeeded", 2, "")
    assert (job.progress["resumed_after"] > 0, job.progress["done"]) == (True, 16)
    images = ImageEmbedding.objects.filter(model_version=version)
    assert images.count() == images.values("image").distinct().count() == 24
    assert ProductEmbedding.objects.filter(model_version=version).count() == 24
    assert ProductImage.objects.count() == 24
    print(f"embedding job recovered {recovered_s:.1f} s after the kill (timeout {STALE_S} s)")


@pytest.mark.django_db(transaction=True)
def test_a_killed_whole_worker_import_is_requeued_by_beat_and_imports_each_row_once(
    tmp_path, fault_worker, settings
):
    hold = tmp_path / "hold"
    hold.mkdir()
    first = fault_worker("default", faults={"hold_import_row": str(hold)}, env=FAST_HEARTBEATS)
    job = import_job_create(csv_file=catalogue_csv(tmp_path / "a.csv", ["A-1", "A-2", "A-3"]))
    wait_until((hold / "held").exists, timeout=60, worker=first, what="import at row 2")

    kill_whole_worker(first)
    killed_at = time.monotonic()
    # Its queue and beat's: the reaper beat sends runs on the periodic worker.
    second = fault_worker(f"default,{settings.PERIODIC_QUEUE}", env=FAST_HEARTBEATS)
    beat = start_beat(tmp_path, settings, env={**FAST_HEARTBEATS, "PRODSIM_JOB_REAPER_S": "1"})
    try:
        wait_until(lambda: finished(job), timeout=60, worker=second, what="import finished")
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=20)

    assert (job.state, job.attempts) == ("succeeded", 2)
    assert (job.created_count, job.unchanged_count) == (2, 1)  # row 1 was committed before
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["A-1", "A-2", "A-3"]
    assert f"reaper: catalog.ImportJob {job.pk}: running" in second.output()
    print(f"import recovered {time.monotonic() - killed_at:.1f} s after the kill (beat 1 s)")


TINY_TRAINING = {
    "backbone": "small_cnn",
    "weights": "none",
    "input_size": 32,
    "embedding_dim": 8,
    "epochs": 8,  # enough epochs that the kill lands between two of them
    "label_source": "group",
    "labels_per_batch": 4,
    "images_per_label": 2,
    # The refit on every photo logs its own epochs 1..n after model selection's; this test
    # follows the selection run's epochs across the kill.
    "refit_on_all": False,
}


def epochs_logged(worker: Worker) -> list[int]:
    """The epochs a worker finished, from its log ("epoch 3/8 loss ...")."""
    return [int(n) for n in re.findall(r"epoch (\d+)/\d+ loss", worker.output())]


@pytest.mark.django_db(transaction=True)
def test_a_killed_whole_worker_training_resumes_from_its_last_epoch_checkpoint(
    tmp_path, fault_worker, fast_reaper, settings
):
    # Checkpoints are per version id, which a fresh test database repeats: keep them private.
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"  # the workers get it too
    shape_catalogue(groups_per_shape=2, colours=3)
    first = fault_worker("ml", env=FAST_HEARTBEATS)
    version = model_version_create(auto_activate=False, **TINY_TRAINING)
    job = version.jobs.get()

    def an_epoch_done() -> bool:
        job.refresh_from_db()
        return job.progress.get("epoch", 0) >= 1

    wait_until(an_epoch_done, timeout=120, worker=first, what="a first epoch checkpointed")
    kill_whole_worker(first)
    killed_at = time.monotonic()
    second = fault_worker("ml", env=FAST_HEARTBEATS)
    reap_until_requeued()
    wait_until(lambda: finished(job), timeout=180, worker=second, what="training finished")

    before, after = epochs_logged(first), epochs_logged(second)
    assert (job.state, job.attempts, job.error) == ("succeeded", 2, "")
    assert before and after[0] > 1  # resumed, not restarted
    assert before[-1] < after[0] <= before[-1] + 2  # the epoch in flight, at most, is redone
    # Then each epoch once, up to the last or to early stopping.
    assert after == list(range(after[0], after[-1] + 1))
    version.refresh_from_db()
    assert version.status == "ready"
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24
    print(f"training: epochs {before} then {after}; {time.monotonic() - killed_at:.1f} s")


def start_beat(tmp_path, settings, *, env: dict) -> subprocess.Popen:
    """`celery beat` sending the reaper every PRODSIM_JOB_REAPER_S to the test's broker."""
    environment = {**os.environ, "REDIS_URL": settings.CELERY_BROKER_URL, **env}
    log = open(tmp_path / "beat.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.faults.faulty_worker", "beat"]
        + ["--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.django_db(transaction=True)
def test_two_reapers_racing_requeue_a_job_once_and_it_runs_once(
    tmp_path, fault_worker, broker, settings, fast_reaper
):
    job = import_job_create(
        csv_file=catalogue_csv(tmp_path / "r.csv", ["R-1", "R-2"]), enqueue=False
    )
    ImportJob.objects.filter(pk=job.pk).update(state="running", attempts=1)  # its worker died
    broker.purge("default")
    time.sleep(STALE_S + 0.5)
    start, results = threading.Barrier(2), []

    def reaper():  # a second beat started by mistake: each has its own database session
        start.wait()
        try:
            results.append(jobs_reap())
        finally:
            connection.close()

    threads = [threading.Thread(target=reaper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(len(reaped) for reaped in results) == [0, 1]
    assert broker.queued("default") == 1
    # Naming the broker keeps the fixture from purging the one message.
    worker = fault_worker("default", env={"REDIS_URL": settings.CELERY_BROKER_URL})
    wait_until(lambda: finished(job), timeout=60, worker=worker, what="import finished")
    assert (job.state, job.attempts, job.created_count) == ("succeeded", 2, 2)  # one claim
    assert Product.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_paused_worker_past_the_timeout_finds_its_claim_lost_and_writes_nothing(
    tmp_path, tiny_artifact, fault_worker, fast_reaper
):
    shape_catalogue(groups_per_shape=2, colours=3)
    version = tiny_version(tiny_artifact)
    hold = tmp_path / "hold"
    hold.mkdir()
    paused = fault_worker("ml", faults={"hold_embed_batch": str(hold)}, env=FAST_HEARTBEATS)
    job = reembed_request(version=version, only_missing=False, batch_size=BATCH)
    wait_until((hold / "held").exists, timeout=60, worker=paused, what="first batch written")
    [child] = paused.child_pids()
    os.kill(child, signal.SIGSTOP)

    other = fault_worker("ml", env=FAST_HEARTBEATS)
    reap_until_requeued()
    wait_until(lambda: finished(job), timeout=90, worker=other, what="finished by the other")
    after_other = Job.objects.values().get(pk=job.pk)

    (hold / "release").touch()
    os.kill(child, signal.SIGCONT)
    wait_until(lambda: "lost its claim" in paused.output(), timeout=30, worker=paused)

    assert Job.objects.values().get(pk=job.pk) == after_other  # not one column written
    assert (after_other["state"], after_other["attempts"]) == ("succeeded", 2)
    images = ImageEmbedding.objects.filter(model_version=version)
    assert images.count() == images.values("image").distinct().count() == 24
    assert paused.child_pids() == [child]  # it stopped the job, not the worker


def test_a_database_down_past_the_retry_budget_leaves_no_job_running(
    tmp_path, media_root, private_services, fault_worker
):
    from prodsim_site.embedded import postgres

    private_services.manage("migrate", "--noinput", "-v", "0")
    hold = tmp_path / "hold"
    hold.mkdir()
    # One outage retry (2 s) instead of eight (about five minutes): the budget runs out quickly.
    env = {**private_services.env(), **FAST_HEARTBEATS, "PRODSIM_OUTAGE_MAX_RETRIES": "1"}
    worker = fault_worker("default", faults={"hold_import_row": str(hold)}, env=env)
    csv = catalogue_csv(tmp_path / "p.csv", ["P-1", "P-2", "P-3"])
    code = (
        "from pathlib import Path; from catalog.services import import_job_create; "
        f"print(import_job_create(csv_file=Path({str(csv)!r})).pk)"
    )
    media = {"PRODSIM_MEDIA_ROOT": str(media_root)}
    pk = int(private_services.manage("shell", "-c", code, extra_env=media).stdout.split()[-1])
    wait_until((hold / "held").exists, timeout=60, worker=worker, what="import at row 2")

    with private_services._here():
        assert postgres.stop() is True
    (hold / "release").touch()
    wait_until(
        lambda: "raised unexpected: OperationalError" in worker.output(),
        timeout=60,
        worker=worker,
        what="the task gave up on the database",
    )
    private_services.start_postgres()

    def job_row() -> tuple:
        with private_services.postgres_connect() as conn:
            return conn.execute(
                "SELECT state, attempts, created_count, unchanged_count, error "
                "FROM catalog_importjob WHERE id = %s",
                [pk],
            ).fetchone()

    assert job_row()[:2] == ("running", 1)  # what the hole used to leave for ever
    time.sleep(STALE_S)
    reaped = private_services.manage("reap_jobs", extra_env=FAST_HEARTBEATS)
    assert f"requeued catalog.ImportJob {pk}: running" in reaped.stdout

    done = wait_until(
        lambda: (row := job_row())[0] != "running" and row[0] != "queued" and row,
        timeout=60,
        worker=worker,
        what="the requeued import finished",
    )
    assert done == ("succeeded", 2, 2, 1, "")  # row 1 committed before the outage
    with private_services.postgres_connect() as conn:
        skus = [row[0] for row in conn.execute("SELECT sku FROM catalog_product ORDER BY sku")]
        running = conn.execute(
            "SELECT count(*) FROM catalog_importjob WHERE state IN ('running', 'queued')"
        ).fetchone()[0]
    assert (skus, running) == (["P-1", "P-2", "P-3"], 0)
