"""Soft and hard time limits end a stuck job as `timed_out`; the broker never redelivers a task
that is still within its limits (visibility timeout above every hard limit and retry delay)."""

from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import Product
from catalog.services import import_job_create
from catalog.tasks import catalogue_import_task
from prodsim_site.celery import app
from similarity.models import ImageEmbedding, Job
from similarity.tasks import model_version_reembed_task
from tests.catalog.factories import csv_bytes, shape_catalogue, write

from .factories import tiny_version
from .processes import wait_until

PROJECT_APPS = ("core.", "catalog.", "similarity.", "behaviour.", "experiments.", "prodsim_site.")


def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(PROJECT_APPS)}


def test_the_visibility_timeout_exceeds_every_hard_limit_and_retry_delay():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    tasks = project_tasks()
    # Imports, trainings, embeddings, text work, refreshes, retention, the reaper (+ any newer).
    assert {name.split(".")[0] for name in tasks} == {app.rstrip(".") for app in PROJECT_APPS}
    for name, task in tasks.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        delay = task.retry_backoff_max if getattr(task, "autoretry_for", ()) else 0
        assert hard and soft and soft < hard, name
        assert hard <= settings.LONGEST_TASK_HARD_LIMIT_S, name
        # A retried task waits its countdown on the worker unacknowledged, then runs to its
        # hard limit: both together must end before Valkey would hand the message out again.
        assert hard + delay < visibility, name
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("stall", "limits", "error"),
    [
        ("soft", {"soft_time_limit": 1, "time_limit": 30}, "timed out after 1 s"),
        ("hard", {"soft_time_limit": 1, "time_limit": 4}, "timed out after 4 s"),
    ],
)
def test_a_stuck_job_ends_timed_out(stall, limits, error, tiny_artifact, fault_worker):
    shape_catalogue(colours=1)
    version = tiny_version(tiny_artifact)
    job = Job.objects.create(
        kind=Job.Kind.EMBED, model_version=version, params={"only_missing": False}
    )
    worker = fault_worker("ml", faults={"stall_in_embed_batch": stall})

    # Per-message limits: the production limits are an hour and more.
    model_version_reembed_task.apply_async((job.pk,), **limits)

    def ended() -> bool:
        job.refresh_from_db()
        return job.is_finished

    wait_until(ended, timeout=60, worker=worker, what="job ended")
    assert (job.state, job.error, job.attempts) == ("timed_out", error, 1)
    assert ImageEmbedding.objects.filter(model_version=version).count() == 0
    hard_limit_line = "Hard time limit (4s) exceeded"
    assert (hard_limit_line in worker.output()) is (stall == "hard")
    # The parent recorded the hard limit without importing TensorFlow (its children fork from it).
    assert "tensorflow" not in Path(f"/proc/{worker.process.pid}/maps").read_text()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_stuck_import_fails_with_its_time_limit_as_the_reason(tmp_path, fault_worker):
    rows = [{"sku": "A", "title": "Red mug", "price": "5"}]
    csv_path = write(tmp_path / "c.csv", csv_bytes(rows, header=["sku", "title", "price"]))
    job = import_job_create(csv_file=csv_path, enqueue=False)
    worker = fault_worker("default", faults={"stall_import": "hard"})

    catalogue_import_task.apply_async((job.pk,), soft_time_limit=1, time_limit=3)

    def ended() -> bool:
        job.refresh_from_db()
        return job.is_finished

    wait_until(ended, timeout=60, worker=worker, what="import ended")
    assert (job.state, job.error, job.attempts) == (
        "failed",
        "the import was stopped by its time limit after 3 s",
        1,
    )
    assert Product.objects.count() == 0
