"""Cancelling a job: a queued one ends at once and is never run; a running one is asked to stop
at its next check; a training job's version is never left half-built or serving."""

from pathlib import Path

import pytest
from django.urls import reverse

from core.jobs import JobCancelled
from similarity import vector_store
from similarity.admin.jobs import CANCEL_MESSAGES
from similarity.models import Job, ModelVersion
from similarity.services import job_cancel, model_version_activate, model_version_create
from similarity.services.jobs import ML_JOBS
from similarity.services.pipeline import job_run
from similarity.services.reembed import embed_job_run, reembed, reembed_request
from similarity.services.versions import ERROR_CANCELLED
from similarity.tasks import model_version_train_task
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import TINY, train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def queued() -> tuple[ModelVersion, Job]:
    version = model_version_create(enqueue=False, **TINY)
    return version, version.jobs.get()


def untouched(version: ModelVersion) -> tuple:
    """What training would have written: snapshot, curves, metrics, timings, artifacts."""
    version.refresh_from_db()
    files = Path(version.artifact_dir).exists()
    return (version.dataset, version.history, version.metrics, version.timings, files)


def test_cancelling_a_queued_job_ends_it_before_any_worker_sees_it():
    shape_catalogue(groups_per_shape=2, colours=3)
    version, job = queued()

    job = job_cancel(job=job)

    version.refresh_from_db()
    assert (job.state, job.error, job.cancel_requested) == ("cancelled", ERROR_CANCELLED, True)
    assert job.finished_at is not None
    assert (version.status, version.error) == ("failed", ERROR_CANCELLED)

    model_version_train_task.apply(args=[job.pk])  # the worker's delivery comes later

    job.refresh_from_db()
    assert (job.state, job.attempts, job.started_at) == ("cancelled", 0, None)
    assert untouched(version) == ({}, [], {}, {}, False)
    assert version.status == "failed"


def test_a_job_flagged_while_queued_is_ended_by_the_worker_without_training():
    shape_catalogue(groups_per_shape=2, colours=3)
    version, job = queued()
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # e.g. cancelled mid-claim

    job = job_run(job_id=job.pk, max_attempts=3)

    assert (job.state, job.error, job.attempts) == ("cancelled", ERROR_CANCELLED, 0)
    assert untouched(version) == ({}, [], {}, {}, False)
    assert (version.status, version.error) == ("failed", ERROR_CANCELLED)


def test_an_interrupted_job_cancelled_meanwhile_is_not_resumed_and_drops_its_index():
    version, job = queued()
    ModelVersion.objects.filter(pk=version.pk).update(status="indexing")
    Job.objects.filter(pk=job.pk).update(state="running", attempts=1, cancel_requested=True)
    vector_store.hnsw_index_build(version=version)  # the crash came after the index
    assert vector_store.hnsw_index_exists(version=version) is True

    job = job_run(job_id=job.pk, max_attempts=3)

    version.refresh_from_db()
    assert (job.state, job.attempts, version.status) == ("cancelled", 1, "failed")
    assert vector_store.hnsw_index_exists(version=version) is None


def test_cancelling_a_running_job_asks_the_worker_and_changes_nothing_else():
    version, job = queued()
    ModelVersion.objects.filter(pk=version.pk).update(status="training")
    Job.objects.filter(pk=job.pk).update(state="running")

    job = job_cancel(job=job)

    version.refresh_from_db()
    assert (job.state, job.cancel_requested, job.finished_at) == ("running", True, None)
    assert (version.status, version.error) == ("training", "")


def test_cancelling_a_finished_job_changes_nothing():
    version, job = queued()
    ModelVersion.objects.filter(pk=version.pk).update(status="ready")
    Job.objects.filter(pk=job.pk).update(state="succeeded")
    Path(version.artifact_dir).mkdir(parents=True)  # as training leaves it: activation checks
    (Path(version.artifact_dir) / "model.tflite").write_bytes(b"weights")
    model_version_activate(version=version)

    job = job_cancel(job=job)

    version.refresh_from_db()
    assert (job.state, job.cancel_requested, version.status) == ("succeeded", False, "active")


def test_the_cancel_button_ends_a_queued_job_and_its_page_says_so(admin_client):
    version, job = queued()

    response = admin_client.post(reverse("admin:similarity_job_cancel", args=[job.pk]), follow=True)

    said = CANCEL_MESSAGES.cancelled_queued.format(pk=job.pk)
    assert [str(m) for m in response.context["messages"]] == [said]
    progress = admin_client.get(reverse("admin:similarity_job_progress", args=[job.pk])).json()
    assert (progress["state"], progress["finished"], progress["error"]) == (
        "cancelled",
        True,
        ERROR_CANCELLED,
    )
    page = admin_client.get(reverse("admin:similarity_job_change", args=[job.pk])).content
    assert b'id="cancel-job"' not in page


def test_the_cancel_action_reports_what_it_did(admin_client):
    _, waiting = queued()
    running_version, running = queued()
    Job.objects.filter(pk=running.pk).update(state="running")
    _, done = queued()
    Job.objects.filter(pk=done.pk).update(state="failed")

    response = admin_client.post(
        reverse("admin:similarity_job_changelist"),
        {"action": "cancel", "_selected_action": [waiting.pk, running.pk, done.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        CANCEL_MESSAGES.action_done.format(cancelled=1, asked=1)
    ]
    states = dict(Job.objects.values_list("pk", "state"))
    assert (states[waiting.pk], states[running.pk], states[done.pk]) == (
        "cancelled",
        "running",
        "failed",
    )
    assert Job.objects.get(pk=running.pk).cancel_requested is True


@pytest.mark.parametrize("state", ["queued", "running"])
def test_an_unfinished_job_is_cancelled_not_deleted(admin_client, state):
    """Deleted, it would strand its version queued or training: no job left to cancel, and a
    version in those states cannot be deleted either."""
    version, job = queued()
    if state == "running":
        Job.objects.filter(pk=job.pk).update(state="running", attempts=1)
        ModelVersion.objects.filter(pk=version.pk).update(status="training")
    url = reverse("admin:similarity_job_delete", args=[job.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    action = admin_client.post(
        reverse("admin:similarity_job_changelist"),
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
    )

    assert (page.status_code, posted.status_code, action.status_code) == (403, 403, 403)
    assert Job.objects.filter(pk=job.pk, state=state).exists()


def test_a_cancelled_job_can_be_deleted(admin_client):
    version, job = queued()
    job_cancel(job=job)

    response = admin_client.post(
        reverse("admin:similarity_job_delete", args=[job.pk]), {"post": "yes"}
    )

    version.refresh_from_db()
    assert response.status_code == 302 and not Job.objects.filter(pk=job.pk).exists()
    assert version.status == "failed"  # deletable in its turn


# --- embedding jobs ------------------------------------------------------------------------------


def test_a_running_embed_job_stops_after_the_batch_in_which_it_was_cancelled():
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 images
    version, _ = train_tiny()
    seen = []

    def admin_clicks_cancel(state):
        seen.append(state.done)
        job_cancel(job=Job.objects.get(kind="embed", state="running"))

    with pytest.raises(JobCancelled, match=f"^{ERROR_CANCELLED} after 4 images$"):
        reembed(version=version, only_missing=False, batch_size=4, progress=admin_clicks_cancel)

    job = Job.objects.get(kind="embed")
    assert (seen, job.state, job.error, job.progress["done"]) == (
        [4],
        "cancelled",
        ERROR_CANCELLED,
        4,
    )
    version.refresh_from_db()
    assert version.status == "active"  # cancelling an embedding never touches the version


def test_a_queued_embed_job_is_cancelled_at_once_and_the_worker_skips_it():
    version = model_version_create(enqueue=False, **TINY)
    version.status = "ready"  # only a trained version may embed (its jobs never run here)
    version.save(update_fields=["status"])
    flagged, waiting = (
        reembed_request(version=version, only_missing=True),
        reembed_request(version=version, only_missing=False),
    )
    Job.objects.filter(pk=flagged.pk).update(cancel_requested=True)  # e.g. cancelled mid-claim

    assert job_cancel(job=waiting).state == "cancelled"
    for job in (flagged, waiting):
        job = embed_job_run(job_id=job.pk, max_attempts=3)
        assert (job.state, job.error, job.attempts, job.progress) == (
            "cancelled",
            ERROR_CANCELLED,
            0,
            {},
        )


@pytest.mark.parametrize("ending", ["given up", "timed out"])
def test_a_training_job_ending_badly_after_its_version_was_built_keeps_the_version(ending):
    # The worker died between the version's READY and the job's end (or a time limit fired in
    # its auto-activation): the next delivery gives the job up, or the limit ends it.
    shape_catalogue(groups_per_shape=2, colours=3)
    version, job = train_tiny(auto_activate=False)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, attempts=3)
    assert vector_store.hnsw_index_exists(version=version)

    if ending == "given up":
        job_run(job_id=job.pk, max_attempts=3)
    else:
        ML_JOBS.time_out(job.pk, seconds=60)

    job.refresh_from_db()
    version.refresh_from_db()
    assert job.state in ("failed", "timed_out") and version.status == "ready"
    assert vector_store.hnsw_index_exists(version=version)
