"""Worker children killed mid-job: the job resumes after a restart, or fails after bounded tries.

Real prefork workers (tests.faults.faulty_worker) on the real test database and broker. The
broker settings under test: acks_late + reject_on_worker_lost, so a message whose child died is
put back on the queue; the job row's attempt counter bounds how often that can happen.
"""

import os
import signal

import pytest

from catalog.models import ProductImage
from similarity import vector_store
from similarity.models import ImageEmbedding, Job, ProductEmbedding
from similarity.selectors.similar import SimilarQuery, similar_products_for
from similarity.services import model_version_activate
from similarity.services.reembed import reembed, reembed_request
from similarity.tasks import products_embed_task
from tests.catalog.factories import shape_catalogue

from .factories import tiny_version
from .processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BATCH = 8  # 24 images → 3 batches; the kill lands between the 1st and the 2nd


def finished(job: Job) -> bool:
    job.refresh_from_db()
    return job.is_finished


def test_a_sigkilled_embedding_child_resumes_after_restart_without_duplicates(
    tmp_path, tiny_artifact, fault_worker
):
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 products, one image each
    version = tiny_version(tiny_artifact)
    hold = tmp_path / "hold"
    hold.mkdir()
    worker = fault_worker("ml", faults={"hold_embed_batch": str(hold)})
    job = reembed_request(version=version, only_missing=False, batch_size=BATCH)

    wait_until((hold / "held").exists, timeout=60, worker=worker, what="first batch written")
    [child] = worker.child_pids()
    job.refresh_from_db()
    first_cursor = job.progress["cursor"]
    assert (job.attempts, job.progress["done"]) == (1, BATCH)
    assert ImageEmbedding.objects.filter(model_version=version).count() == BATCH

    os.kill(child, signal.SIGKILL)
    (hold / "release").touch()
    wait_until(lambda: finished(job), timeout=90, worker=worker, what="job finished")

    assert worker.child_pids() != [child]  # the pool replaced the killed child
    assert "WorkerLostError" in worker.output()
    assert (job.state, job.attempts, job.error) == ("succeeded", 2, "")
    assert (job.progress["resumed_after"], job.progress["done"]) == (first_cursor, 16)
    images = ImageEmbedding.objects.filter(model_version=version)
    assert images.count() == ProductImage.objects.count() == 24
    assert images.values("image").distinct().count() == 24
    assert ProductEmbedding.objects.filter(model_version=version).count() == 24


def test_a_job_that_kills_its_worker_every_time_fails_after_bounded_attempts(
    tiny_artifact, fault_worker, broker
):
    products = shape_catalogue(groups_per_shape=2, colours=3)
    active = tiny_version(tiny_artifact)
    reembed(version=active, only_missing=False)  # in this process: the serving version
    vector_store.hnsw_index_build(version=active)
    model_version_activate(version=active)
    query = SimilarQuery(k=5)
    before = {p.pk: similar_products_for(product=p, query=query).items for p in products[:6]}
    candidate = tiny_version(tiny_artifact)
    worker = fault_worker(
        "ml", faults={"kill_in_embed_batch": True}, env={"PRODSIM_ML_MAX_ATTEMPTS": "2"}
    )

    job = reembed_request(version=candidate, only_missing=False, batch_size=BATCH)
    wait_until(lambda: finished(job), timeout=90, worker=worker, what="job given up")

    assert (job.state, job.attempts) == ("failed", 3)  # 2 crashed runs, then the refusal
    assert job.error == "gave up after 2 interrupted attempts"
    assert worker.output().count("exited with 'signal 9 (SIGKILL)'") == 2
    wait_until(lambda: broker.queued("ml") + broker.unacked() == 0, timeout=10, what="drained")
    assert ImageEmbedding.objects.filter(model_version=candidate).count() == 0
    active.refresh_from_db()
    assert active.status == "active"
    after = {p.pk: similar_products_for(product=p, query=query).items for p in products[:6]}
    assert after == before
    assert all(len(items) == 5 for items in after.values())


def test_a_task_without_a_job_row_that_kills_its_worker_is_dropped_after_bounded_deliveries(
    tiny_artifact, fault_worker, broker
):
    products = shape_catalogue(colours=1)
    tiny_version(tiny_artifact, status="active")
    worker = fault_worker("ml", faults={"kill_in_embed_batch": True})

    products_embed_task.delay([product.pk for product in products])

    wait_until(lambda: "dropped after 3 deliveries" in worker.output(), timeout=90, worker=worker)
    assert worker.output().count("exited with 'signal 9 (SIGKILL)'") == 3
    wait_until(lambda: broker.queued("ml") + broker.unacked() == 0, timeout=10, what="drained")
    assert ImageEmbedding.objects.count() == 0
