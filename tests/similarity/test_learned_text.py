"""The learned text vectors (signal `text_learned`) follow a product's text after training: the
text refresh re-encodes edited products, embedding gives new products theirs."""

import numpy as np
import pytest

from catalog import selectors as catalog_selectors
from catalog.models import Product
from similarity import vector_store
from similarity.ml.text_encoder import TEXT_TOWER_FILE, VOCABULARY, TextEncoder
from similarity.models import ProductEmbedding
from similarity.services import embedding as embedding_service
from similarity.services.lexical import product_text, product_texts_refresh
from similarity.tasks import products_embed_task
from tests.catalog.factories import COLOURS, SHAPES, add_product, shape_catalogue, shape_image

from .vector_store.factories import store, unit, version

pytestmark = pytest.mark.django_db

HIDDEN = 8  # any width: the test needs an encoder, not a good one


def text_tower(directory, dim: int) -> TextEncoder:
    """An exported text tower (the weights training writes), random but deterministic."""
    rng = np.random.default_rng(0)
    np.savez(
        directory / TEXT_TOWER_FILE,
        embeddings=rng.normal(size=(VOCABULARY, HIDDEN)).astype(np.float32),
        hidden_kernel=rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32),
        hidden_bias=np.zeros(HIDDEN, np.float32),
        output_kernel=rng.normal(size=(HIDDEN, dim)).astype(np.float32),
        output_bias=np.zeros(dim, np.float32),
    )
    return TextEncoder.load(directory)


def expected(encoder: TextEncoder, product_id: int) -> np.ndarray:
    [facts] = catalog_selectors.product_facts(product_ids=[product_id])
    return encoder.encode([product_text(facts)])[0]


def stored(version_id: int, product_id: int):
    row = ProductEmbedding.objects.get(model_version_id=version_id, product_id=product_id)
    return None if row.text_embedding is None else np.array(row.text_embedding)


@pytest.fixture
def trained(tmp_path):
    """An active version with a text tower whose vectors training stored for every product."""
    products = shape_catalogue(colours=1)
    active = version(2, status="active")
    active.artifact_dir = str(tmp_path)
    active.save(update_fields=["artifact_dir"])
    store(active, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)])
    encoder = text_tower(tmp_path, dim=2)
    ids = [p.pk for p in products]
    vectors = np.stack([expected(encoder, pid) for pid in ids])
    vector_store.product_text_embeddings_set(version=active, product_ids=ids, vectors=vectors)
    return active, products, encoder


def test_a_title_edit_is_re_encoded_by_the_text_refresh(trained):
    active, products, encoder = trained
    edited, other = products[0], products[1]
    before, other_before = stored(active.pk, edited.pk), stored(active.pk, other.pk)
    Product.objects.filter(pk=edited.pk).update(title="Leather hiking boots, waterproof")

    product_texts_refresh(product_ids=[edited.pk])  # what the edit enqueues

    np.testing.assert_allclose(
        stored(active.pk, edited.pk), expected(encoder, edited.pk), atol=1e-6
    )
    assert not np.allclose(stored(active.pk, edited.pk), before)
    np.testing.assert_array_equal(stored(active.pk, other.pk), other_before)


def test_without_a_text_tower_the_text_refresh_writes_no_learned_vector():
    [source] = shape_catalogue(colours=1)[:1]
    active = version(2, status="active")  # trained without a text tower: no artifact of one
    store(active, [source], [unit(1, 0)])

    product_texts_refresh(product_ids=[source.pk])

    assert stored(active.pk, source.pk) is None


def test_a_new_product_gets_its_learned_vector_once_embedded(trained, monkeypatch):
    active, _, encoder = trained
    add_product("NEW", "Wooden garden chair", image=shape_image(SHAPES[0], COLOURS[1]))
    new = Product.objects.get(sku="NEW")
    assert not ProductEmbedding.objects.filter(product=new).exists()

    class Embedder:
        def embed(self, images):
            return np.stack([unit(1, 1) for _ in images])

    monkeypatch.setattr(embedding_service, "get_embedder", lambda directory: Embedder())
    monkeypatch.setattr(
        embedding_service, "_decode", lambda record, size: np.zeros((size, size, 3), np.uint8)
    )
    # The text refresh may have run first, when the product had no row to write to.
    product_texts_refresh(product_ids=[new.pk])
    products_embed_task.run([new.pk])

    np.testing.assert_allclose(stored(active.pk, new.pk), expected(encoder, new.pk), atol=1e-6)
