"""The import pipeline through a real Celery worker process, real Valkey and real PostgreSQL."""

import pytest

from catalog.models import ImportJob, Product
from catalog.services import import_job_create
from similarity.models import LexicalIndex, ProductText
from tests.processes import wait_for

from .factories import csv_bytes, image_bytes, write, zip_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_uploaded_import_is_run_by_a_worker(tmp_path, celery_worker_process):
    worker = celery_worker_process("default")
    rows = [
        {"sku": "A", "title": "Red mug", "price": "5", "images": "a.jpg"},
        {"sku": "", "title": "No sku", "price": "5", "images": ""},
    ]
    csv_path = write(
        tmp_path / "c.csv", csv_bytes(rows, header=["sku", "title", "price", "images"])
    )
    zip_path = write(tmp_path / "i.zip", zip_bytes({"a.jpg": image_bytes()}))

    job = import_job_create(csv_file=csv_path, images=zip_path)

    def finished():
        job.refresh_from_db()
        return job.is_finished

    wait_for(finished, timeout=90, process=worker)
    assert (job.state, job.attempts, job.created_count, job.failed_count) == (
        ImportJob.State.SUCCEEDED,
        1,
        1,
        1,
    )
    assert list(job.row_errors.values_list("line", "message")) == [(3, "sku is required")]
    assert Product.objects.get(sku="A").images.get().is_primary is True
    # The import then had the default worker rebuild the lexical text index.
    index = wait_for(
        lambda: LexicalIndex.objects.filter(is_current=True).first(), timeout=60, process=worker
    )
    assert ProductText.objects.filter(lexical_index=index).count() == 1
