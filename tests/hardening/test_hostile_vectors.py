"""NaN, infinite, zero and wrong-dimension vectors never reach SQL, and a model that produces
them fails its own version while the active one keeps serving."""

import numpy as np
import pytest

from similarity import vector_store
from similarity.ml.validation import InvalidEmbeddings
from similarity.models import ImageEmbedding, ModelVersion, ProductEmbedding
from similarity.services import embedding as embedding_service
from tests.catalog.factories import shape_catalogue

pytestmark = pytest.mark.django_db

DIM = 4
BAD_VECTORS = {
    "nan": (np.array([[np.nan, 1, 0, 0]], dtype=np.float32), "contains NaN"),
    "inf": (np.array([[np.inf, 1, 0, 0]], dtype=np.float32), "an infinite value"),
    "-inf": (np.array([[0, -np.inf, 0, 0]], dtype=np.float32), "an infinite value"),
    "zero": (np.zeros((1, DIM), dtype=np.float32), "no direction"),
    "tiny": (np.full((1, DIM), 1e-9, dtype=np.float32), "no direction"),
    "wrong dimension": (np.ones((1, DIM + 1), dtype=np.float32), "must have shape"),
    "flat": (np.ones(DIM, dtype=np.float32), "must have shape"),
    "integers": (np.ones((1, DIM), dtype=np.int64), "floating-point dtype"),
}


@pytest.fixture
def version() -> ModelVersion:
    return ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=DIM, status="ready"
    )


def write(version, vectors):
    vector_store.image_embeddings_upsert(
        version=version, image_ids=[1] * len(vectors), shas=["x"] * len(vectors), vectors=vectors
    )


def query(version, vectors):
    vector_store.nearest_products(
        version=version, vector=vectors[0] if vectors.ndim > 1 else vectors, k=3
    )


def text_write(version, vectors):
    vector_store.product_text_embeddings_set(
        version=version, product_ids=[1] * len(vectors), vectors=vectors
    )


CASES = [
    pytest.param(operation, kind, id=f"{kind}-{operation.__name__}")
    for operation in (write, query, text_write)
    for kind in BAD_VECTORS
    # A query vector is cast to float32 first: integer components are ordinary numbers there.
    if not (operation is query and kind == "integers")
]


@pytest.mark.parametrize(("operation", "kind"), CASES)
def test_bad_vectors_are_rejected_before_any_sql(
    version, django_assert_num_queries, operation, kind
):
    vectors, reason = BAD_VECTORS[kind]
    if operation is query and kind == "flat":
        vectors = np.ones(DIM + 2, dtype=np.float32)  # a single query vector of the wrong size
    with django_assert_num_queries(0), pytest.raises(InvalidEmbeddings) as excinfo:
        operation(version, vectors)
    assert reason in str(excinfo.value)


TINY = {
    "backbone": "small_cnn",
    "weights": "none",
    "input_size": 32,
    "embedding_dim": 8,
    "epochs": 1,
    "label_source": "group",
    "labels_per_batch": 4,
    "images_per_label": 2,
    "min_epoch_images": 0,
}


def test_a_model_that_emits_nan_fails_its_version_and_the_active_one_keeps_serving(
    models_root, monkeypatch
):
    from similarity.services import model_version_create
    from similarity.services.pipeline import job_run

    products = shape_catalogue(groups_per_shape=2, colours=3)
    first = model_version_create(enqueue=False, **TINY)
    job_run(job_id=first.jobs.get().pk, max_attempts=3)
    first.refresh_from_db()
    assert first.status == "active"
    served = vector_store.product_vector(version=first, product_id=products[0].pk)

    real_get_embedder = embedding_service.get_embedder

    class NanEmbedder:
        def __init__(self, inner):
            self.inner = inner

        def embed(self, images):
            vectors = self.inner.embed(images)
            vectors[0, 0] = np.nan  # one poisoned row poisons the batch
            return vectors

    monkeypatch.setattr(
        embedding_service,
        "get_embedder",
        lambda directory: NanEmbedder(real_get_embedder(directory)),
    )
    second = model_version_create(enqueue=False, **TINY)
    job = job_run(job_id=second.jobs.get().pk, max_attempts=3)
    second.refresh_from_db()
    first.refresh_from_db()

    assert (job.state, second.status, first.status) == ("failed", "failed", "active")
    assert job.error.startswith("InvalidEmbeddings: ")
    assert "NaN" in job.error
    assert ImageEmbedding.objects.filter(model_version=second).count() == 0
    assert ProductEmbedding.objects.filter(model_version=second).count() == 0
    assert vector_store.hnsw_index_exists(version=second) is None
    assert vector_store.hnsw_index_exists(version=first) is True
    neighbours = vector_store.nearest_products(version=first, vector=served, k=3)
    assert neighbours[0].product_id == products[0].pk
