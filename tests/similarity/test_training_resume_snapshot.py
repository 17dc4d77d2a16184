"""A training resumed after its worker died resumes from its checkpoints only if the catalogue
splits the same way: one product added in between reshuffles the units (a seeded shuffle), and
the resumed model would then be tested on photos it had trained on. Retrained afresh, it keeps
none of the vectors its earlier attempt embedded."""

import numpy as np
import pytest

from catalog import selectors as catalog_selectors
from similarity.ml import embedder as embedder_module
from similarity.ml.training import loop
from similarity.models import ImageEmbedding, Job
from similarity.services import model_version_create, pipeline, refits
from similarity.services.embedding import _decode
from similarity.services.pipeline import job_run
from tests.catalog.factories import add_product, shape_catalogue, shape_image
from tests.similarity.factories import TINY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


class Killed(BaseException):
    """The worker dies (nothing in the job's lifecycle sees it)."""


@pytest.fixture
def killed_after_training(monkeypatch) -> list[bool]:
    """Each attempt is killed once its selection training has checkpointed; the list gets, per
    phase started, whether it resumed from a checkpoint."""
    resumed, real_train, real_resume = [], refits.train, loop.resume_epoch

    def train(*args, **kwargs):
        real_train(*args, **kwargs)
        raise Killed()

    def resume_epoch(model, checkpoint_dir, number, first, last):
        epoch = real_resume(model, checkpoint_dir, number, first, last)
        resumed.append(epoch > first)
        return epoch

    monkeypatch.setattr(refits, "train", train)
    monkeypatch.setattr(loop, "resume_epoch", resume_epoch)
    return resumed


@pytest.mark.parametrize("catalogue_changed", [True, False], ids=["changed", "unchanged"])
def test_an_attempt_resumes_only_from_checkpoints_of_the_same_split(
    killed_after_training, catalogue_changed
):
    shape_catalogue(groups_per_shape=3, colours=2)
    job = model_version_create(enqueue=False, **TINY).jobs.get()
    with pytest.raises(Killed):
        job_run(job_id=job.pk, max_attempts=3)
    if catalogue_changed:  # the shop adds a product meanwhile
        add_product("NEW-1", "new", image=shape_image("square", (10, 200, 10)), group_id="new")
    killed_after_training.clear()

    with pytest.raises(Killed):
        job_run(job_id=job.pk, max_attempts=3)  # the redelivery

    assert any(killed_after_training) is not catalogue_changed


@pytest.fixture
def killed_after_embedding_8(monkeypatch) -> list[int]:
    """The first attempt is killed once it has embedded 8 photos; the list gets, per attempt,
    how many photos it set out to embed."""
    real_images_embed, attempts = pipeline.images_embed, []

    def images_embed(*, version, records, progress=None):
        attempts.append(len(records))

        def report(state):
            if len(attempts) == 1 and state.done >= 8:
                raise Killed()

        return real_images_embed(version=version, records=records, progress=report, batch_size=4)

    monkeypatch.setattr(pipeline, "images_embed", images_embed)
    return attempts


@pytest.mark.parametrize("catalogue_changed", [True, False], ids=["changed", "unchanged"])
def test_a_resumed_training_serves_no_vector_of_the_model_its_killed_attempt_trained(
    killed_after_embedding_8, catalogue_changed
):
    """Attempt 1 embeds some photos and dies; with the catalogue changed meanwhile, attempt 2
    trains another model: the photos attempt 1 embedded must get this model's vectors too."""
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 photos
    version = model_version_create(enqueue=False, **TINY)
    job = version.jobs.get()
    with pytest.raises(Killed):
        job_run(job_id=job.pk, max_attempts=3)
    first_attempt = list(
        ImageEmbedding.objects.filter(model_version=version).values_list("image_id", flat=True)
    )
    assert len(first_attempt) == 8
    if catalogue_changed:
        add_product("NEW-1", "new", image=shape_image("square", (10, 200, 10)), group_id="new")
    embedder_module.get_embedder.cache_clear()  # a new worker process

    job = job_run(job_id=job.pk, max_attempts=3)

    assert job.state == Job.State.SUCCEEDED, job.error
    served = embedder_module.get_embedder(version.artifact_dir)
    records = {r.image_id: r for r in catalog_selectors.image_records()}
    stored = dict(
        ImageEmbedding.objects.filter(
            model_version=version, image_id__in=first_attempt
        ).values_list("image_id", "embedding")
    )
    photos = np.stack([_decode(records[image_id], TINY["input_size"]) for image_id in stored])
    np.testing.assert_allclose(np.stack(list(stored.values())), served.embed(photos), atol=1e-3)


def test_a_worker_killed_after_the_second_refit_resumes_every_model_it_had_trained(monkeypatch):
    """The served pair is exported only after both refits: killed once the second has
    checkpointed, before the export, the next attempt loads the selection run and both refits
    from their own checkpoints (none trained again) and serves the two side by side."""
    shape_catalogue(groups_per_shape=2, colours=3)
    job = model_version_create(enqueue=False, **{**TINY, "refit_models": 2}).jobs.get()
    real_train, real_resume, resumed = refits.train, loop.resume_epoch, []

    def train(config, *, checkpoint_dir, **kwargs):
        result = real_train(config, checkpoint_dir=checkpoint_dir, **kwargs)
        if checkpoint_dir.name == "refit-2" and not resumed:
            raise Killed()
        return result

    def resume_epoch(model, checkpoint_dir, number, first, last):
        epoch = real_resume(model, checkpoint_dir, number, first, last)
        resumed.append((checkpoint_dir.name, epoch > first))
        return epoch

    monkeypatch.setattr(refits, "train", train)
    with pytest.raises(Killed):
        job_run(job_id=job.pk, max_attempts=3)
    monkeypatch.setattr(loop, "resume_epoch", resume_epoch)

    job = job_run(job_id=job.pk, max_attempts=3)

    assert job.state == Job.State.SUCCEEDED, job.error
    by_run = {name: [] for name, _ in resumed}
    for name, was_resumed in resumed:
        by_run[name].append(was_resumed)
    assert all(by_run.pop("refit")) and all(by_run.pop("refit-2"))
    assert by_run and all(all(phases) for phases in by_run.values())  # the selection run
    assert (
        len(ImageEmbedding.objects.filter(model_version=job.model_version).first().embedding) == 16
    )
