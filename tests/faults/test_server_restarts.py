"""Valkey and PostgreSQL restarted under a working worker: every job still completes, once.

Each test runs its own throwaway server under tmp_path (prodsim_site.embedded helpers with a
private PRODSIM_VAR_DIR); the shared servers under var/ are never touched.
"""

import pytest

from catalog.models import ImportJob, Product
from catalog.services import import_job_create
from catalog.tasks import catalogue_import_task
from prodsim_site.celery import app
from tests.catalog.factories import csv_bytes, write

from .processes import wait_until

pytestmark = [pytest.mark.worker]

HEADER = ["sku", "title", "price"]


def catalogue_csv(path, skus: list[str]):
    rows = [{"sku": sku, "title": f"Mug {sku}", "price": "5"} for sku in skus]
    return write(path, csv_bytes(rows, header=HEADER))


@pytest.mark.django_db(transaction=True)
def test_jobs_in_flight_survive_a_valkey_restart(tmp_path, private_services, fault_worker):
    url = private_services.start_valkey()
    worker = fault_worker("default", faults={"import_delay_s": 1.0}, env={"REDIS_URL": url})
    jobs = [
        import_job_create(
            csv_file=catalogue_csv(tmp_path / f"{n}.csv", [f"J{n}-A", f"J{n}-B"]), enqueue=False
        )
        for n in range(6)
    ]
    with app.connection_for_write(url) as connection:
        for job in jobs:
            catalogue_import_task.apply_async((job.pk,), connection=connection)

    def succeeded() -> int:
        return ImportJob.objects.filter(state=ImportJob.State.SUCCEEDED).count()

    wait_until(succeeded, timeout=60, worker=worker, what="a first job done")
    private_services.restart_valkey()  # SHUTDOWN writes the AOF; the same files come back
    done_at_restart = succeeded()
    wait_until(lambda: succeeded() == 6, timeout=90, worker=worker, what="all jobs done")

    assert 1 <= done_at_restart < 6  # the restart really hit the middle of the batch
    states = list(ImportJob.objects.order_by("pk").values_list("state", "created_count"))
    assert states == [("succeeded", 2)] * 6
    assert Product.objects.count() == Product.objects.values("sku").distinct().count() == 12
    assert "Connection to broker lost" in worker.output()


def test_a_task_retries_across_a_postgres_restart_and_the_worker_keeps_working(
    tmp_path, media_root, private_services, fault_worker
):
    private_services.manage("migrate", "--noinput", "-v", "0")
    hold = tmp_path / "hold"
    hold.mkdir()
    worker = fault_worker(
        "default", faults={"hold_import_row": str(hold)}, env=private_services.env()
    )
    media = {"PRODSIM_MEDIA_ROOT": str(media_root)}

    def enqueue_import(name: str, skus: list[str]) -> int:
        path = catalogue_csv(tmp_path / name, skus)
        code = (
            "from pathlib import Path; from catalog.services import import_job_create; "
            f"print(import_job_create(csv_file=Path({str(path)!r})).pk)"
        )
        return int(private_services.manage("shell", "-c", code, extra_env=media).stdout.split()[-1])

    def job_row(pk: int) -> tuple | None:
        with private_services.postgres_connect() as conn:
            row = conn.execute(
                "SELECT state, attempts, created_count, updated_count, unchanged_count "
                "FROM catalog_importjob WHERE id = %s",
                [pk],
            ).fetchone()
        return row if row and row[0] in ("succeeded", "failed") else None

    first = enqueue_import("first.csv", ["P-1", "P-2", "P-3"])
    wait_until((hold / "held").exists, timeout=60, worker=worker, what="import in row 2")
    [child] = worker.child_pids()
    private_services.restart_postgres()  # fast shutdown: the task's session is terminated
    (hold / "release").touch()

    # Row 1 committed before the restart; the retry finds it unchanged and creates rows 2-3.
    assert wait_until(lambda: job_row(first), timeout=90, worker=worker, what="retried") == (
        "succeeded",
        2,
        2,
        0,
        1,
    )
    assert "Retry in 2s: OperationalError" in worker.output()
    second = enqueue_import("second.csv", ["P-4"])
    assert wait_until(lambda: job_row(second), timeout=60, worker=worker, what="next task") == (
        "succeeded",
        1,
        1,
        0,
        0,
    )
    assert worker.child_pids() == [child]  # the same worker child served both
    with private_services.postgres_connect() as conn:
        skus = [row[0] for row in conn.execute("SELECT sku FROM catalog_product ORDER BY sku")]
    assert skus == ["P-1", "P-2", "P-3", "P-4"]  # no row lost, none duplicated
