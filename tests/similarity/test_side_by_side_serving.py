"""A version serving two refits side by side (the default `refit_models`) end to end: its
vectors are twice embedding_dim long in pgvector, its exported model, its text tower and every
search path (similar products, photo search) use that length (real TensorFlow, PostgreSQL)."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import selectors as catalog_selectors
from similarity import vector_store
from similarity.ml.embedder import load_embedder
from similarity.models import ImageEmbedding, ModelVersion, ProductEmbedding
from similarity.services import model_version_create
from similarity.services.embedding import _decode
from similarity.services.versions import DEFAULT_TRAINING
from tests.catalog.factories import COLOURS, shape_catalogue, shape_image
from tests.similarity.factories import TINY, train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]

DIM = TINY["embedding_dim"]


def test_two_refits_are_served_as_one_vector_of_both_lengths(client, partner_client, models_root):
    products = shape_catalogue(groups_per_shape=2, colours=3)

    version, job = train_tiny(refit_models=2)

    assert (job.state, version.status, version.vector_dim) == ("succeeded", "active", 2 * DIM)
    folder = models_root / f"v{version.pk}"
    metadata = json.loads((folder / "metadata.json").read_text())
    assert (metadata["embedding_dim"], metadata["vector_dim"]) == (DIM, 2 * DIM)
    assert metadata["training"]["refit_models"] == 2
    vector = vector_store.product_vector(version=version, product_id=products[0].pk)
    assert vector.shape == (2 * DIM,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    # Two models from two seeds: the halves differ (one model twice would repeat itself).
    assert not np.allclose(vector[:DIM], vector[DIM:], atol=1e-3)
    record = next(r for r in catalog_selectors.image_records() if r.product_id == products[0].pk)
    served = load_embedder(Path(version.artifact_dir)).embed(
        _decode(record, version.input_size)[None]
    )
    stored = ImageEmbedding.objects.get(model_version=version, image_id=record.image_id)
    np.testing.assert_allclose(served[0], stored.embedding, atol=1e-5)
    neighbours = vector_store.nearest_products(version=version, vector=vector, k=5)
    assert neighbours[0].product_id == products[0].pk and len(neighbours) == 5
    text = ProductEmbedding.objects.filter(model_version=version).values_list(
        "text_embedding", flat=True
    )
    assert {len(vector) for vector in text} == {2 * DIM}
    similar = partner_client.get(f"/api/v1/products/{products[0].sku}/similar/", {"k": 5})
    assert similar.status_code == 200 and len(similar.json()["results"]) == 5
    photo = SimpleUploadedFile("q.png", shape_image("cross", COLOURS[0]), "image/png")
    result = client.post("/search/photo/", {"photo": photo}).context["result"]
    assert (result.model_version, result.k_returned) == (version.pk, 24)


def test_versions_from_before_the_option_and_those_not_refit_serve_one_model():
    before = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=DIM, params={}
    )
    not_refit = model_version_create(enqueue=False, **{**TINY, "refit_on_all": False})

    assert DEFAULT_TRAINING["refit_models"] == 2
    assert (before.served_models, before.vector_dim) == (1, DIM)
    assert (not_refit.served_models, not_refit.vector_dim) == (1, DIM)


def test_a_versions_name_in_admin_lists_says_how_many_models_it_serves():
    pair = model_version_create(enqueue=False, **{**TINY, "refit_models": 2})
    one = model_version_create(enqueue=False, **{**TINY, "refit_models": 1})

    assert str(pair) == f"v{pair.pk} {TINY['backbone']} 2×{DIM}d ({pair.status})"
    assert str(one) == f"v{one.pk} {TINY['backbone']} {DIM}d ({one.status})"
