"""Bulk re-embedding (resumable, idempotent), embedding new images, activation and rollback."""

import functools
import itertools

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.services.products import product_images_removed
from similarity import vector_store
from similarity.models import ImageEmbedding, Job, ModelVersion
from similarity.services import embedding as embedding_service
from similarity.services import model_version_activate, model_version_rollback
from similarity.services.reembed import reembed
from similarity.tasks import products_embed_task
from tests.catalog.factories import COLOURS, SHAPES, shape_catalogue, shape_image
from tests.similarity.factories import sent_task, tasks_sent, train_tiny

from .vector_store.factories import unit
from .vector_store.factories import version as hand_built_version

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
    sent = tasks_sent(callbacks)
    # One text refresh and one image embedding per new product (cache bumps are not tasks).
    assert sorted(set(sent)) == [
        "similarity.tasks.product_texts_refresh_task",
        "similarity.tasks.products_embed_task",
    ]
    assert len(sent) == 2 * 12
    embedded = ImageEmbedding.objects.filter(model_version=version, image__product__in=new)
    assert embedded.count() == 12


def test_a_product_put_back_on_sale_gets_a_vector_of_the_active_version(
    django_capture_on_commit_callbacks, monkeypatch
):
    """Withdrawn while the version trained (training embeds products on sale only), it was put
    back by a PATCH {"active": true}: no image changed, and it stayed out of every image-based
    list until the next activation."""
    from catalog.services.patches import product_patch
    from prodsim_site.celery import app

    products = shape_catalogue(groups_per_shape=2, colours=3)
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the worker path is tested apart
    with django_capture_on_commit_callbacks(execute=True):
        product_patch(sku=products[5].sku, values={"active": False})
    version, _ = train_tiny()
    assert not ImageEmbedding.objects.filter(model_version=version, image__product=products[5])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        product_patch(sku=products[5].sku, values={"active": True})

    assert EMBED_TASK in tasks_sent(callbacks)
    assert ImageEmbedding.objects.filter(model_version=version, image__product=products[5])
    assert vector_store.product_vector(version=version, product_id=products[5].pk) is not None


def test_a_change_of_an_embedded_products_words_queues_no_embedding(
    django_capture_on_commit_callbacks,
):
    from catalog.services.patches import product_patch

    products = shape_catalogue(groups_per_shape=2, colours=3)
    train_tiny()

    with django_capture_on_commit_callbacks() as callbacks:
        product_patch(sku=products[5].sku, values={"title": "renamed"})

    assert tasks_sent(callbacks) == ["similarity.tasks.product_texts_refresh_task"]


def test_a_large_import_is_embedded_in_messages_that_each_fit_the_task_s_time_limit(
    django_capture_on_commit_callbacks, monkeypatch
):
    """An import's products went to the ml worker as one message with the embedding task's
    one-hour limit: a season's catalogue ran out of it part way, and the rest had no vector."""
    from similarity.services import catalogue_changes

    products = shape_catalogue(groups_per_shape=2, colours=3)
    train_tiny()
    monkeypatch.setattr(catalogue_changes, "EMBED_CHUNK", 5)
    ids = sorted(product.pk for product in products)

    with django_capture_on_commit_callbacks() as callbacks:
        catalogue_changes.on_catalogue_changed(product_ids=ids[::-1])

    embeds = [
        callback.args[1:]
        for callback in callbacks
        if isinstance(callback, functools.partial) and sent_task(callback) == EMBED_TASK
    ]
    assert [len(args[0]) for args in embeds] == [5, 5, 5, 5, 4]
    assert [pk for args in embeds for pk in args[0]] == ids


EMBED_TASK = "similarity.tasks.products_embed_task"


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


def test_rollback_returns_to_the_version_that_served_just_before():
    first, second, third = rows("ready", "ready", "ready")
    for version in (first, second, third):
        model_version_activate(version=version)

    assert model_version_rollback() == second


@pytest.mark.parametrize("status", ["queued", "training", "failed"])
def test_unfinished_versions_cannot_be_activated(status):
    [version] = rows(status)
    with pytest.raises(CommandError, match=f"version v{version.pk} is {status}; only a ready"):
        call_command("activate", str(version.pk))


def test_rollback_without_history_is_refused():
    with pytest.raises(CommandError, match="there is no earlier ready version to roll back to"):
        call_command("activate", "--rollback")


@pytest.fixture
def two_image_product(monkeypatch):
    """A product with two embedded images (vectors (1, 0) and (0, 1)) under an active version;
    nothing is left to embed, so no model is needed."""
    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: None)
    [product] = shape_catalogue(colours=1, images_per_product=2)[:1]
    v = hand_built_version(2, status="active")
    images = list(product.images.order_by("position"))
    embedded_as_two_axes(v, product, images)
    return v, product, images


def embedded_as_two_axes(version, product, images) -> None:
    """The two images' vectors (1, 0) and (0, 1) under `version`, and the product's mean."""
    vector_store.image_embeddings_upsert(
        version=version,
        image_ids=[image.pk for image in images],
        shas=[image.sha256 for image in images],
        vectors=np.stack([unit(1, 0), unit(0, 1)]),
    )
    vector_store.product_embeddings_refresh(version=version, product_ids=[product.pk])


@pytest.mark.parametrize(("removed", "left"), [(1, unit(1, 0)), (2, None)])
def test_images_removed_in_the_admin_take_the_product_vector_with_them(
    two_image_product, django_capture_on_commit_callbacks, removed, left
):
    v, product, images = two_image_product
    with django_capture_on_commit_callbacks(execute=False):
        for image in images[-removed:]:
            image.delete()
        product_images_removed(product=product, files=[i.file.name for i in images[-removed:]])
    products_embed_task.run([product.pk])  # what the listener queued for the active version

    stored = vector_store.product_vector(version=v, product_id=product.pk)
    if left is None:
        assert stored is None  # with no image left, no vector: not the old one forever
    else:
        np.testing.assert_allclose(stored, left, atol=1e-6)


def test_a_version_activated_again_catches_up_on_what_changed_while_it_served_nobody(
    two_image_product, django_capture_on_commit_callbacks, monkeypatch
):
    """Changes follow the active version: a photo removed and a title edited while another
    version served left the older version's product vector the mean with the removed photo (the
    photo's vector went with its row), and its learned text vector the old words'."""
    from catalog.models import Product
    from prodsim_site.celery import app
    from similarity.services import learned_text

    v, product, images = two_image_product
    older = hand_built_version(2, status="ready")
    embedded_as_two_axes(older, product, images)
    encoded = []
    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: TitleEncoder([]))
    monkeypatch.setattr(
        learned_text,
        "text_encoder_for",
        lambda version: version == older and TitleEncoder(encoded),
    )
    with django_capture_on_commit_callbacks(execute=False):  # what the admin does, v serving
        images[1].delete()
        product_images_removed(product=product, files=[images[1].file.name])
        Product.objects.filter(pk=product.pk).update(title="Renamed", updated_at=timezone.now())

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=older)

    np.testing.assert_allclose(
        vector_store.product_vector(version=older, product_id=product.pk), unit(1, 0), atol=1e-6
    )
    assert [text for text in encoded if "Renamed" in text] == ["Renamed Shapes square"]


class TitleEncoder:
    """Stands in for a text tower (records what it encodes) and an image model (the shop's
    other products' photos): one unit vector each."""

    def __init__(self, encoded: list):
        self.encoded = encoded

    def encode(self, texts):
        self.encoded.extend(texts)
        return np.stack([unit(0, 1) for _ in texts])

    def embed(self, images):
        return np.stack([unit(1, 1) for _ in images])


def test_an_upsert_that_only_removes_images_refreshes_the_product_vector(
    two_image_product, django_capture_on_commit_callbacks, monkeypatch
):
    from catalog.images import prepare_image
    from catalog.importers import ProductRow
    from catalog.services import product_upsert
    from catalog.services.products import ImageToAttach
    from prodsim_site.celery import app

    v, product, images = two_image_product
    kept = images[0]
    first_view = prepare_image(
        shape_image(SHAPES[0], COLOURS[0], offset=0), max_bytes=10**6, max_pixels=10**6
    )
    assert first_view.sha256 == kept.sha256
    row = ProductRow(
        line=2,
        sku=product.sku,
        title=product.title,
        price=product.price,
        currency=product.currency,
        category_path=product.category.path,
        group_id=product.group_id,
    )
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        product_upsert(row=row, images=[ImageToAttach(first_view, "kept.png")])

    assert list(product.images.values_list("pk", flat=True)) == [kept.pk]
    np.testing.assert_allclose(
        vector_store.product_vector(version=v, product_id=product.pk), unit(1, 0), atol=1e-6
    )


def test_vectors_written_after_activation_mid_run_mark_those_lists_stale(monkeypatch):
    shape_catalogue(colours=1)  # 4 products, one image each
    v = hand_built_version(2, status="ready")
    rotations = itertools.count()

    class Embedder:
        def embed(self, images):
            return np.stack([unit(1, next(rotations) + 1) for _ in images])

    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: Embedder())
    monkeypatch.setattr(
        embedding_service, "_decode", lambda record, size: np.zeros((size, size, 3), np.uint8)
    )
    staled = []
    monkeypatch.setattr(
        embedding_service, "similar_lists_stale", lambda *, product_ids: staled.extend(product_ids)
    )

    def activate_after_the_first_batch(state):
        if state.done == 1:
            model_version_activate(version=v)

    reembed(version=v, only_missing=False, batch_size=1, progress=activate_after_the_first_batch)

    embedded = list(
        ImageEmbedding.objects.order_by("image_id").values_list("image__product", flat=True)
    )
    # The first batch was written while v served nobody; the other three changed what shoppers see.
    assert staled == embedded[1:]


def test_an_activated_version_embeds_the_products_imported_since_it_was_trained(
    django_capture_on_commit_callbacks, monkeypatch
):
    from prodsim_site.celery import app

    shape_catalogue(groups_per_shape=2, colours=3)
    trained, _ = train_tiny(auto_activate=False)
    # Imported while it sat ready: the listener embeds them with the active version only.
    with django_capture_on_commit_callbacks(execute=False):
        products = shape_catalogue(groups_per_shape=3, colours=3)
    new = [product for product in products if product.group_id.endswith("-2")]
    assert not ImageEmbedding.objects.filter(model_version=trained, image__product__in=new)

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the worker path is tested apart
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=trained)

    embedded = ImageEmbedding.objects.filter(model_version=trained, image__product__in=new)
    assert embedded.count() == len(new) == 12
    vectors = [vector_store.product_vector(version=trained, product_id=p.pk) for p in new]
    assert all(vector is not None for vector in vectors)
