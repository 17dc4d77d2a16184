"""Training jobs whose worker died: cancelled after the reaper queued them again, the version
fails through the job's own end (it stayed `training` for ever); delivered again after the work
was done, the trained version is left serving (it was retrained, and failed on a rerun error)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.services.sequence import sequence_training_cancel, sequence_training_job_run
from core.jobs.reaper import jobs_reap
from similarity.models import Job, ModelVersion
from similarity.services.pipeline import job_run
from similarity.services.versions import job_cancel
from tests.catalog.factories import shape_catalogue

pytestmark = pytest.mark.django_db

STALE = {
    "state": "running",
    "attempts": 1,
    "heartbeat_worker": "gone-host:1",
}


@pytest.fixture(autouse=True)
def quick_reaper(settings, tmp_path):
    settings.PRODSIM_JOB_STALE_S = 60
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"


def image_version(status: str) -> tuple[ModelVersion, Job]:
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=2, status=status
    )
    stale = timezone.now() - timedelta(seconds=90)
    job = Job.objects.create(
        kind=Job.Kind.TRAIN, model_version=version, heartbeat_at=stale, **STALE
    )
    return version, job


def sequence_version(status: str) -> tuple[SequenceModelVersion, SequenceTrainingJob]:
    version = SequenceModelVersion.objects.create(architecture="gru", status=status)
    stale = timezone.now() - timedelta(seconds=90)
    job = SequenceTrainingJob.objects.create(version=version, heartbeat_at=stale, **STALE)
    return version, job


def test_an_image_training_queued_again_then_cancelled_fails_its_version():
    version, job = image_version(ModelVersion.Status.TRAINING)
    jobs_reap()

    flagged = job_cancel(job=job)
    ended = job_run(job_id=job.pk, max_attempts=3)  # the reaper's delivery

    version.refresh_from_db()
    assert (flagged.state, flagged.cancel_requested) == ("queued", True)
    assert (ended.state, version.status) == ("cancelled", "failed")


def test_a_sequence_training_queued_again_then_cancelled_fails_its_version():
    version, job = sequence_version(SequenceModelVersion.Status.TRAINING)
    jobs_reap()

    sequence_training_cancel(job=job)
    ended = sequence_training_job_run(job_id=job.pk)

    version.refresh_from_db()
    assert (ended.state, version.status) == ("cancelled", "failed")


def test_a_second_delivery_of_a_finished_image_training_leaves_the_active_version_serving():
    shape_catalogue(groups_per_shape=1, colours=1)  # too small: a retraining would fail
    version, job = image_version(ModelVersion.Status.ACTIVE)
    jobs_reap()

    ended = job_run(job_id=job.pk, max_attempts=3)

    version.refresh_from_db()
    assert (ended.state, version.status) == ("succeeded", "active")


def test_a_second_delivery_of_a_finished_sequence_training_leaves_the_active_version_serving():
    version, job = sequence_version(SequenceModelVersion.Status.ACTIVE)  # no events at all
    jobs_reap()

    ended = sequence_training_job_run(job_id=job.pk)

    version.refresh_from_db()
    assert (ended.state, version.status) == ("succeeded", "active")
