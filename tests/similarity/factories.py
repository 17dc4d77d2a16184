"""Shared builders for the similarity tests: the tiny training recipe and a catalogue of random
unit vectors. Hand-built versions and vectors live in tests/similarity/vector_store/factories.py."""

import functools
from decimal import Decimal

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Category, Product, ProductImage
from similarity import vector_store
from similarity.models import Job, ModelVersion
from similarity.services import model_version_create
from similarity.services.pipeline import job_run
from tests.catalog.factories import COLOURS, shape_image

TINY = {
    "backbone": "small_cnn",
    "weights": "none",
    "input_size": 32,
    "embedding_dim": 8,
    "epochs": 2,
    "label_source": "group",
    "labels_per_batch": 4,
    "images_per_label": 2,
    "min_epoch_images": 0,  # one pass over the tiny catalogue: tests stay quick
    "refit_models": 1,  # one refit: two side by side are tested on their own
}


def photo_upload(name: str = "q.png", data: bytes | None = None) -> SimpleUploadedFile:
    """A shopper's upload: by default a cross in the first colour (shape_catalogue's CROSS-0-*)."""
    return SimpleUploadedFile(name, data or shape_image("cross", COLOURS[0]), "image/png")


class FakeEmbedder:
    """Stands in for a version's exported model: seeded random unit vectors, 8 dimensions."""

    def embed(self, images):
        rng = np.random.default_rng(len(images))
        vectors = rng.normal(size=(len(images), 8)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def train_tiny(**overrides) -> tuple[ModelVersion, Job]:
    version = model_version_create(enqueue=False, **{**TINY, **overrides})
    job = job_run(job_id=version.jobs.get().pk, max_attempts=3)
    version.refresh_from_db()
    return version, job


VECTOR_CATALOGUE_DIM = 8
VECTOR_CATALOGUE_CATEGORIES = ["Home > Mugs", "Home > Plates", "Fashion > Hats", "Fashion > Shoes"]


def vector_catalogue(count: int = 80, seed: int = 3, **per_product):
    """`count` products with random unit vectors; product i is in
    VECTOR_CATALOGUE_CATEGORIES[i % 4], brand B{i % 5}, price 10 + i, in stock unless
    i % 10 == 0, group G{i // 2} (pairs of variants)."""
    rng = np.random.default_rng(seed)
    categories = {}
    for path in VECTOR_CATALOGUE_CATEGORIES:
        parent, _ = Category.objects.get_or_create(
            path=path.split(" > ")[0],
            defaults={"name": path.split(" > ")[0], "slug": path.split(" > ")[0].lower()},
        )
        categories[path] = Category.objects.create(
            path=path,
            name=path.split(" > ")[1],
            parent=parent,
            slug=path.lower().replace(" > ", "-"),
        )
    products, images = [], []
    for i in range(count):
        p = Product.objects.create(
            sku=f"P{i:03}",
            title=f"Product {i}",
            price=Decimal(10 + i),
            brand=f"B{i % 5}",
            category=categories[VECTOR_CATALOGUE_CATEGORIES[i % 4]],
            in_stock=i % 10 != 0,
            group_id=f"G{i // 2}",
        )
        products.append(p)
        images.append(
            ProductImage.objects.create(
                product=p,
                file=f"products/{i}.jpg",
                sha256=f"{i:064}",
                width=1,
                height=1,
                is_primary=True,
            )
        )
    vectors = rng.normal(size=(count, VECTOR_CATALOGUE_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    version = ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=VECTOR_CATALOGUE_DIM,
        status="active",
    )
    vector_store.image_embeddings_upsert(
        version=version,
        image_ids=[i.pk for i in images],
        shas=[i.sha256 for i in images],
        vectors=vectors,
    )
    vector_store.product_embeddings_refresh(version=version, product_ids=[p.pk for p in products])
    vector_store.hnsw_index_build(version=version)
    return products, vectors


def image_only_weights():
    from similarity.fusion import Weights

    return Weights(image=1, text=0, text_learned=0, attributes=0, price=0)


def tasks_sent(callbacks) -> list[str]:
    """The names of the tasks these on-commit callbacks send (cache bumps are not tasks)."""
    return [sent_task(callback) for callback in callbacks if sent_task(callback)]


def sent_task(callback) -> str | None:
    """The task an on-commit callback of core.tasks.enqueue_on_commit sends (its first bound
    argument), else None."""
    if isinstance(callback, functools.partial) and callback.args:
        return getattr(callback.args[0], "name", None)
    return None
