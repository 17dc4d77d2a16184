"""An image-model test's candidate gets vectors of the products added or re-photographed before
and during its test, as the active version does: its arm is not judged on a stale catalogue."""

import pytest

from experiments.services import experiment_stop
from prodsim_site.celery import app
from similarity.models import ImageEmbedding
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import train_tiny

from .factories import running

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def embedded(version, products) -> int:
    return ImageEmbedding.objects.filter(model_version=version, image__product__in=products).count()


def new_groups(groups_per_shape: int) -> list:
    """The catalogue grown to this many groups per shape; the products of its newest groups."""
    newest = f"-{groups_per_shape - 1}"
    products = shape_catalogue(groups_per_shape=groups_per_shape, colours=3)
    return [product for product in products if product.group_id.endswith(newest)]


def test_a_candidate_embeds_what_was_added_while_it_sat_ready_and_while_it_is_tested(
    django_capture_on_commit_callbacks, monkeypatch
):
    shape_catalogue(groups_per_shape=2, colours=3)
    candidate, _ = train_tiny(auto_activate=False)
    with django_capture_on_commit_callbacks(execute=False):  # no version active: nothing embeds
        before = new_groups(3)
    assert embedded(candidate, before) == 0

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the worker path is tested apart
    with django_capture_on_commit_callbacks(execute=True):
        experiment = running(candidate, share=50)
    assert embedded(candidate, before) == len(before) == 12

    with django_capture_on_commit_callbacks(execute=True):
        during = new_groups(4)
    assert embedded(candidate, during) == len(during) == 12

    experiment_stop(experiment=experiment)
    with django_capture_on_commit_callbacks(execute=True):
        after = new_groups(5)
    assert embedded(candidate, after) == 0  # no test, no arm: the candidate is left as it was
