"""Bulk re-embedding (resumable, idempotent), embedding new images, activation and rollback."""

import functools

import pytest
from django.core.management import CommandError, call_command

from similarity.models import ImageEmbedding, Job, ModelVersion
from similarity.services import model_version_activate, model_version_rollback
from similarity.services.reembed import reembed
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


class Interrupt(Exception):
    pass


def test_reembed_resumes_after_an_interruption_and_repeats_idempotently():
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 images
    version, _ = train_tiny()
    ImageEmbedding.objects.filter(model_version=version).delete()
    seen = []

    def crash_after_first_batch(state):
        seen.append(state.done)
        raise Interrupt()

    with pytest.raises(Interrupt):
        reembed(version=version, only_missing=False, batch_size=5, progress=crash_after_first_batch)
    assert ImageEmbedding.objects.filter(model_version=version).count() == 5
    interrupted = Job.objects.get(kind="embed", state="running")
    first_cursor = interrupted.progress["cursor"]
    assert seen == [5]

    state = reembed(version=version, only_missing=False, batch_size=5)

    interrupted.refresh_from_db()
    assert (interrupted.state, interrupted.attempts) == ("succeeded", 2)
    assert interrupted.progress["resumed_after"] == first_cursor
    assert state.done == 19  # only what the first run had not reached
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24
    assert reembed(version=version, only_missing=True).total == 0


def test_new_images_are_embedded_with_the_active_version(
    django_capture_on_commit_callbacks, monkeypatch
):
    from prodsim_site.celery import app

    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny()
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the worker path is tested apart
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        products = shape_catalogue(groups_per_shape=3, colours=3)

    new = [product for product in products if product.group_id.endswith("-2")]
    assert len(new) == 12
    sent = [
        callback.func.__self__.name
        for callback in callbacks
        if isinstance(callback, functools.partial) and hasattr(callback.func, "__self__")
    ]
    # One text refresh and one image embedding per new product (cache bumps are not tasks).
    assert sorted(set(sent)) == [
        "similarity.tasks.product_texts_refresh_task",
        "similarity.tasks.products_embed_task",
    ]
    assert len(sent) == 2 * 12
    embedded = ImageEmbedding.objects.filter(model_version=version, image__product__in=new)
    assert embedded.count() == 12


def rows(*statuses):
    return [
        ModelVersion.objects.create(
            backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status=status
        )
        for status in statuses
    ]


def test_activation_switches_atomically_and_rollback_restores_the_previous():
    first, second = rows("ready", "ready")
    model_version_activate(version=first)
    model_version_activate(version=second)

    assert list(ModelVersion.objects.order_by("pk").values_list("status", flat=True)) == [
        "ready",
        "active",
    ]
    assert model_version_rollback() == first
    assert list(ModelVersion.objects.order_by("pk").values_list("status", flat=True)) == [
        "active",
        "ready",
    ]


@pytest.mark.parametrize("status", ["queued", "training", "failed"])
def test_unfinished_versions_cannot_be_activated(status):
    [version] = rows(status)
    with pytest.raises(CommandError, match=f"version v{version.pk} is {status}; only a ready"):
        call_command("activate", str(version.pk))


def test_rollback_without_history_is_refused():
    with pytest.raises(CommandError, match="there is no earlier ready version to roll back to"):
        call_command("activate", "--rollback")
