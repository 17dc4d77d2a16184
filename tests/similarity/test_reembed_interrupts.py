"""A foreground re-embedding (`manage.py reembed`) stopped by Ctrl-C ends its job, so the reaper
never hands it to the `ml` worker, and the rerun continues after its cursor; a job whose process
died and that the reaper queued again is resumed by the rerun, unless a live worker has claimed
it since: the same re-embedding never runs twice at once."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.jobs.reaper import jobs_reap
from similarity.models import ImageEmbedding, Job
from similarity.services import embedding as embedding_service
from similarity.services import reembed as reembed_service
from similarity.services.reembed import (
    ERROR_INTERRUPTED,
    ReembedRefused,
    embed_job_run,
    reembed,
)
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import FakeEmbedder

from .vector_store.factories import version as hand_built_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(monkeypatch):
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 images
    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: FakeEmbedder())
    return hand_built_version(8, status="active")


def ctrl_c(state):
    raise KeyboardInterrupt


def silent_for_the_reaper(job: Job, settings) -> None:
    silent_since = timezone.now() - timedelta(seconds=settings.PRODSIM_JOB_STALE_S + 5)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=silent_since)


def test_ctrl_c_ends_the_job_cancelled_and_the_reaper_leaves_it(version, settings):
    with pytest.raises(KeyboardInterrupt):
        reembed(version=version, only_missing=False, batch_size=5, progress=ctrl_c)
    job = Job.objects.get(kind="embed")
    silent_for_the_reaper(job, settings)

    assert jobs_reap() == []
    job.refresh_from_db()
    assert (job.state, job.error, job.progress["done"]) == ("cancelled", ERROR_INTERRUPTED, 5)


def test_ctrl_c_in_the_command_says_so_and_ends_the_job(version, monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reembed_service, "images_embed", interrupted)

    with pytest.raises(CommandError) as stopped:
        call_command("reembed", stdout=io.StringIO(), stderr=io.StringIO())

    assert str(stopped.value) == f"v{version.pk}: {ERROR_INTERRUPTED}"
    job = Job.objects.get(kind="embed")
    assert (job.state, job.error) == ("cancelled", ERROR_INTERRUPTED)


def test_the_rerun_after_ctrl_c_continues_after_its_cursor(version):
    with pytest.raises(KeyboardInterrupt):
        reembed(version=version, only_missing=False, batch_size=5, progress=ctrl_c)
    stopped = Job.objects.get(kind="embed")

    state = reembed(version=version, only_missing=False, batch_size=5)

    rerun = Job.objects.exclude(pk=stopped.pk).get(kind="embed")
    assert (rerun.state, rerun.progress["resumed_after"]) == (
        "succeeded",
        stopped.progress["cursor"],
    )
    assert state.done == 19  # only what the stopped run had not reached
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24


def broken_on_the_second_batch(state):
    if state.done >= 10:
        raise ConnectionError("the database went away")


def test_the_rerun_after_a_failure_continues_after_its_cursor(version):
    """The command's run ends `failed` on an error (end_failed_on_error): the rerun started
    over from the first image, hours of a full re-embedding thrown away."""
    with pytest.raises(ConnectionError):
        reembed(
            version=version,
            only_missing=False,
            batch_size=5,
            progress=broken_on_the_second_batch,
            end_failed_on_error=True,
        )
    failed = Job.objects.get(kind="embed")
    assert failed.state == "failed"

    state = reembed(version=version, only_missing=False, batch_size=5)

    assert state.done == 14  # the ten written before the error are not embedded again
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24


def test_the_rerun_resumes_the_job_the_reaper_queued_again_and_the_worker_skips_it(
    version, settings
):
    """The command's process died (a closed terminal, SIGKILL): its job fell silent."""

    def killed(state):
        raise SystemExit  # nothing catches it: the job stays running, as a killed process's

    with pytest.raises(SystemExit):
        reembed(version=version, only_missing=False, batch_size=5, progress=killed)
    job = Job.objects.get(kind="embed")
    silent_for_the_reaper(job, settings)
    assert [reaped.job for reaped in jobs_reap()] == [f"similarity.Job {job.pk}"]

    state = reembed(version=version, only_missing=False, batch_size=5)
    late = embed_job_run(job_id=job.pk, max_attempts=3)  # the reaper's message reaches the worker

    job.refresh_from_db()
    assert (job.state, job.attempts, state.done, late.attempts) == ("succeeded", 2, 19, 2)
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk]


def test_the_rerun_leaves_a_job_that_a_live_worker_took_over(version):
    job = Job.objects.create(
        kind=Job.Kind.EMBED,
        model_version=version,
        params={"only_missing": False},
        state=Job.State.RUNNING,
        attempts=2,
        progress={"cursor": 7},
        heartbeat_at=timezone.now(),
        heartbeat_worker="ml-host:4242",
    )

    with pytest.raises(ReembedRefused) as refused:
        reembed(version=version, only_missing=False, batch_size=5)

    assert str(refused.value) == (
        f"the re-embedding job #{job.pk} of v{version.pk} is running in ml-host:4242 and "
        "continues there (follow or cancel it on its admin page)"
    )
    job.refresh_from_db()
    assert (job.state, job.attempts, Job.objects.count()) == ("running", 2, 1)


@pytest.mark.django_db(transaction=True)  # the beating thread reads the committed job
def test_a_foreground_run_beats_while_a_long_batch_embeds(version, settings, monkeypatch):
    """Its only beats were its progress writes: a batch slower than the reaper's silence limit
    had its job requeued to the ml worker under the running command."""
    settings.PRODSIM_JOB_HEARTBEAT_S = 0.1
    beats = []

    class SlowEmbedder(FakeEmbedder):
        def embed(self, images):
            first = Job.objects.get(kind="embed").heartbeat_at
            time.sleep(0.6)
            beats.append(Job.objects.get(kind="embed").heartbeat_at > first)
            return super().embed(images)

    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: SlowEmbedder())

    reembed(version=version, only_missing=False, batch_size=24)

    assert beats and all(beats)
