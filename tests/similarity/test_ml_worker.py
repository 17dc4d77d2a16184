"""A training job through a real `ml` Celery worker process (TensorFlow loads in the worker)."""

import pytest

from similarity.models import ImageEmbedding, Job
from similarity.services import model_version_create
from tests.catalog.factories import shape_catalogue
from tests.processes import wait_for
from tests.similarity.factories import TINY

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_training_job_runs_on_the_ml_worker(settings, tmp_path, celery_worker_process):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    worker = celery_worker_process("ml", {"PRODSIM_MODELS_ROOT": str(tmp_path / "models")})
    shape_catalogue(groups_per_shape=2, colours=3)

    version = model_version_create(**TINY)  # enqueued on commit (autocommit here)
    job = version.jobs.get()

    def finished():
        job.refresh_from_db()
        return job.is_finished

    wait_for(finished, timeout=180, process=worker)
    version.refresh_from_db()
    assert (job.state, job.attempts, version.status) == (Job.State.SUCCEEDED, 1, "active")
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24
    assert (tmp_path / "models" / f"v{version.pk}" / "model.tflite").exists()
