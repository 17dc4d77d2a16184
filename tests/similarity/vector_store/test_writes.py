"""Vector writes: validation before SQL, product vectors derived from their images."""

import numpy as np
import pytest
from django.db import IntegrityError

from similarity import vector_store
from similarity.ml.validation import InvalidEmbeddings
from similarity.models import ImageEmbedding, ProductEmbedding
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.array([[np.nan, 1.0]], dtype=np.float32), "row 0"),
        (np.array([[np.inf, 1.0]], dtype=np.float32), "row 0"),
        (np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32), "row 1"),
        (np.array([[1.0, 0.0, 0.0]], dtype=np.float32), r"shape \(n, 2\); got shape \(1, 3\)"),
    ],
)
def test_bad_vectors_are_rejected_before_sql(vectors, message):
    v = version(2)
    products = shape_catalogue(colours=1)[: len(vectors)]
    with pytest.raises(InvalidEmbeddings, match=message):
        store(v, products, list(vectors))
    assert ImageEmbedding.objects.count() == 0


def test_product_vector_is_the_normalised_mean_of_its_images():
    [product] = shape_catalogue(colours=1, images_per_product=2)[:1]
    v = version(2)
    images = list(product.images.order_by("position"))
    vector_store.image_embeddings_upsert(
        version=v,
        image_ids=[i.pk for i in images],
        shas=[i.sha256 for i in images],
        vectors=np.stack([unit(1, 0), unit(0, 1)]),
    )
    vector_store.product_embeddings_refresh(version=v, product_ids=[product.pk])

    np.testing.assert_allclose(
        vector_store.product_vector(version=v, product_id=product.pk), unit(1, 1), atol=1e-6
    )
    assert ProductEmbedding.objects.get().image_count == 2


def test_at_most_one_active_version():
    version(2, status="active")
    with pytest.raises(IntegrityError, match="one_active_model_version"):
        version(2, status="active")


def test_image_vectors_that_cancel_out_leave_no_product_vector():
    # Their mean has no direction: stored, its cosine to anything would be NaN.
    [product] = shape_catalogue(colours=1, images_per_product=2)[:1]
    v = version(2)
    images = list(product.images.order_by("position"))

    def embed(*vectors):
        vector_store.image_embeddings_upsert(
            version=v,
            image_ids=[i.pk for i in images],
            shas=[i.sha256 for i in images],
            vectors=np.stack(vectors),
        )
        vector_store.product_embeddings_refresh(version=v, product_ids=[product.pk])

    embed(unit(1, 0), unit(0, 1))
    assert vector_store.product_vector(version=v, product_id=product.pk) is not None
    embed(unit(0, 1), unit(0, -1))
    assert vector_store.product_vector(version=v, product_id=product.pk) is None
    assert not ProductEmbedding.objects.exists()


def test_vectors_of_images_deleted_since_they_were_read_are_skipped():
    # A run reads image ids, then decodes and embeds them: a product deleted in between takes
    # its image rows along, and its vectors must not reach the foreign key.
    first, gone = shape_catalogue(colours=2)[:2]
    images = [first.images.get(), gone.images.get()]
    gone.delete()
    v = version(2)

    written = vector_store.image_embeddings_upsert(
        version=v,
        image_ids=[i.pk for i in images],
        shas=[i.sha256 for i in images],
        vectors=np.stack([unit(1, 0), unit(0, 1)]),
    )

    assert written == 1
    assert list(ImageEmbedding.objects.values_list("image_id", flat=True)) == [images[0].pk]


def test_products_behind_their_vectors_are_those_saved_since_or_with_a_photo_gone():
    """What an activation's catch-up re-encodes and marks stale: a product untouched since its
    vector was written is not among them (the whole catalogue rewritten at each activation),
    one whose words alone were edited is (its learned text vector served stale otherwise)."""
    import datetime as dt

    from django.utils import timezone

    from catalog.models import Product

    v = version(2)
    untouched, edited, photo_gone = shape_catalogue(colours=1)[:3]
    store(v, [untouched, edited, photo_gone], [unit(1, 0), unit(0, 1), unit(1, 1)])
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    ProductEmbedding.objects.filter(model_version=v).update(updated_at=hour_ago)
    Product.objects.filter(pk__in=[untouched.pk, photo_gone.pk]).update(
        updated_at=hour_ago - dt.timedelta(minutes=1)
    )
    Product.objects.filter(pk=edited.pk).update(updated_at=timezone.now())
    ProductEmbedding.objects.filter(model_version=v, product=photo_gone).update(image_count=2)

    behind = vector_store.products_changed_since_their_vectors(version=v)

    assert behind == sorted([edited.pk, photo_gone.pk])
