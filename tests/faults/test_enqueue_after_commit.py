"""Enqueue only after commit: a rolled-back write leaves nothing on the broker.

A worker that receives a task for a row that was never committed would fail or, worse, act on a
later row reusing the id. Every service enqueues with delay_on_commit; these tests read the real
broker's queue lengths (Valkey) after a rollback, and after a commit as the control.
"""

from decimal import Decimal

import pytest
from django.db import transaction

from catalog.importers import ProductRow
from catalog.models import ImportJob, Product
from catalog.services import import_job_create, product_upsert
from similarity.models import Job, ModelVersion
from similarity.services import model_version_create
from similarity.services.reembed import reembed_request
from tests.catalog.factories import csv_bytes, write

from .factories import tiny_version

pytestmark = [pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


def upload(tmp_path) -> ImportJob:
    rows = [{"sku": "A", "title": "Red mug", "price": "5"}]
    return import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, header=["sku", "title", "price"]))
    )


def product_change() -> None:
    row = ProductRow(line=2, sku="A", title="Red mug", price=Decimal("5"), currency="EUR")
    product_upsert(row=row, images=None)


def train_request() -> None:
    model_version_create(backbone="small_cnn", weights="none", input_size=32, embedding_dim=8)


def reembed_of(artifact):
    return lambda: reembed_request(version=tiny_version(artifact), only_missing=False)


WRITES = {
    "upload/import": (lambda tmp_path, artifact: upload(tmp_path), "default"),
    "product change": (lambda tmp_path, artifact: product_change(), "default"),
    "training request": (lambda tmp_path, artifact: train_request(), "ml"),
    "re-embed request": (lambda tmp_path, artifact: reembed_of(artifact)(), "ml"),
}


@pytest.mark.parametrize("write_name", list(WRITES))
def test_a_rolled_back_write_queues_nothing_and_a_committed_one_queues_once(
    write_name, tmp_path, broker, tiny_artifact
):
    perform, queue = WRITES[write_name]
    broker.purge("default", "ml")

    with pytest.raises(Rollback), transaction.atomic():
        perform(tmp_path, tiny_artifact)
        raise Rollback()

    assert (broker.queued(queue), broker.queued("default") + broker.queued("ml")) == (0, 0)
    assert (ImportJob.objects.count(), Product.objects.count()) == (0, 0)
    assert (Job.objects.count(), ModelVersion.objects.count()) == (0, 0)

    with transaction.atomic():
        perform(tmp_path, tiny_artifact)
        assert broker.queued(queue) == 0  # still inside the transaction: nothing sent yet

    assert broker.queued(queue) == 1
    broker.purge("default", "ml")


def test_a_message_the_broker_refuses_after_the_commit_leaves_the_saved_change_and_job(
    tmp_path, monkeypatch, caplog
):
    """Valkey unreachable past the client's retries: the publish failed after the commit, so a
    saved product change answered 500 and stopped the callbacks after it, and an import's
    uploaded files were deleted under its committed job (which the reaper then sent, to fail
    on a file that was gone)."""
    from celery.app.task import Task
    from kombu.exceptions import OperationalError

    def broker_down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "delay", broker_down)

    job = upload(tmp_path)  # outside any transaction: saved, then its message sent
    product_change()

    job.refresh_from_db()
    assert job.state == "queued" and job.csv_file.storage.exists(job.csv_file.name)
    assert Product.objects.filter(sku="A").exists()
    refused = [r for r in caplog.records if "Connection refused" in r.getMessage()]
    assert len(refused) >= 2 and all(r.levelname == "ERROR" for r in refused)
