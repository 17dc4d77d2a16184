"""Products deleted or re-photographed while an embedding run holds their photos decoded but has
not written their vectors yet (a re-embedding, an import's embedding task, a training's embed
step): the run skips them and goes on.

transaction=True: the worker runs in autocommit, so the deleted image rows are gone for real
(foreign keys checked at once, as in production)."""

import pytest

from catalog.models import Product
from catalog.services.products import product_delete
from similarity.models import ImageEmbedding, Job, ProductEmbedding
from similarity.services import embedding as embedding_service
from similarity.services.reembed import reembed
from tests.catalog.factories import add_product, shape_catalogue, shape_image
from tests.similarity.factories import FakeEmbedder, train_tiny

from .vector_store.factories import version as hand_built_version

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("models_root")]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(
        embedding_service.images_embed, "__kwdefaults__", {"batch_size": 4, "progress": None}
    )


@pytest.fixture
def active_version(monkeypatch):
    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: FakeEmbedder())
    return hand_built_version(8, status="active")


def rephotograph(sku: str) -> None:
    """A partner's PUT of the product with a new photo list: its old image rows go."""
    product = Product.objects.get(sku=sku)
    add_product(sku, product.title, image=shape_image("circle", (10, 200, 10), offset=7))


def change_before_its_batch_is_written(monkeypatch, sku: str, change=None) -> list[int]:
    """Runs `change` (default: delete the product) after the product's photo was decoded, before
    its batch's vectors are written: the window every batch of a long run has."""
    real_write = embedding_service._write_batch
    victim = Product.objects.get(sku=sku).pk
    changed = []

    def write(version, embedder, batch, decoded, state):
        if not changed and any(record.product_id == victim for record in batch):
            (change or (lambda sku: product_delete(sku=sku)))(sku)
            changed.append(victim)
        return real_write(version, embedder, batch, decoded, state)

    monkeypatch.setattr(embedding_service, "_write_batch", write)
    return changed


def test_a_product_deleted_during_a_reembedding_is_skipped_and_the_run_goes_on(
    monkeypatch, active_version
):
    products = shape_catalogue(groups_per_shape=2, colours=3)  # 24 images
    changed = change_before_its_batch_is_written(monkeypatch, products[10].sku)

    state = reembed(version=active_version, only_missing=False, batch_size=4)

    assert changed == [products[10].pk]
    job = Job.objects.get(kind="embed")
    assert job.state == "succeeded", job.error
    assert state.done == 24
    assert ProductEmbedding.objects.filter(model_version=active_version).count() == 23


def test_a_product_re_photographed_during_a_reembedding_keeps_no_vector_of_its_old_photo(
    monkeypatch, active_version
):
    products = shape_catalogue(groups_per_shape=2, colours=3)
    old_images = list(products[10].images.values_list("pk", flat=True))
    changed = change_before_its_batch_is_written(monkeypatch, products[10].sku, rephotograph)

    reembed(version=active_version, only_missing=False, batch_size=4)

    assert changed == [products[10].pk]
    assert Job.objects.get(kind="embed").state == "succeeded"
    assert not ImageEmbedding.objects.filter(image_id__in=old_images).exists()


def test_a_product_deleted_during_an_imports_embedding_task_costs_no_other_product_its_vector(
    monkeypatch, active_version, small_batches
):
    from similarity.tasks import products_embed_task

    products = shape_catalogue(groups_per_shape=2, colours=3)
    ImageEmbedding.objects.all().delete()
    changed = change_before_its_batch_is_written(monkeypatch, products[2].sku)

    products_embed_task.apply(args=[[p.pk for p in products]]).get()

    assert changed == [products[2].pk]
    assert ProductEmbedding.objects.filter(model_version=active_version).count() == 23


def test_a_product_deleted_during_a_trainings_embed_step_does_not_fail_the_training(
    monkeypatch, small_batches
):
    products = shape_catalogue(groups_per_shape=2, colours=3)
    changed = change_before_its_batch_is_written(monkeypatch, products[10].sku)

    version, job = train_tiny()

    assert changed == [products[10].pk]
    assert (job.state, version.status) == ("succeeded", "active"), job.error
    assert ProductEmbedding.objects.filter(model_version=version).count() == 23
