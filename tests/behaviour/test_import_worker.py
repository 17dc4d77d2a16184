"""The event import through a real Celery worker process, real Valkey and real PostgreSQL."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.models import Event, EventImportJob
from behaviour.services.imports import event_import_job_create
from tests.catalog.factories import product, write
from tests.processes import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_uploaded_history_is_imported_by_a_worker(tmp_path, celery_worker_process):
    worker = celery_worker_process("default")
    product(sku="A")
    at = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0).isoformat()
    lines = ["order_id,occurred_at,visitor_id,sku,quantity,unit_price"]
    lines += [f"o{n},{at},v{n % 7},A,1,2.50" for n in range(12_000)] + [f"x,{at},v1,NOPE,1,1"]
    path = write(tmp_path / "orders.csv", ("\n".join(lines) + "\n").encode())

    job = event_import_job_create(csv_file=path)

    def finished():
        job.refresh_from_db()
        return job.is_finished

    wait_for(finished, timeout=90, process=worker)
    assert (job.state, job.attempts, job.rows_done, job.accepted_count, job.rejected_count) == (
        "succeeded",
        1,
        12_001,
        12_000,
        1,
    )
    assert list(job.row_errors.values_list("line", "column")) == [(12_002, "sku")]
    assert Event.objects.filter(source="import").count() == 12_000
    assert EventImportJob.objects.get().duration_s > 0
