"""A training resumed after its worker died resumes from its checkpoints only if the catalogue
splits the same way: one product added in between reshuffles the units (a seeded shuffle), and
the resumed model would then be tested on photos it had trained on."""

import pytest

from similarity.ml.training import loop
from similarity.services import model_version_create, pipeline
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
    resumed, real_train, real_resume = [], pipeline.train, loop.resume_epoch

    def train(*args, **kwargs):
        real_train(*args, **kwargs)
        raise Killed()

    def resume_epoch(model, checkpoint_dir, number, first, last):
        epoch = real_resume(model, checkpoint_dir, number, first, last)
        resumed.append(epoch > first)
        return epoch

    monkeypatch.setattr(pipeline, "train", train)
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
