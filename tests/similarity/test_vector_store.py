"""pgvector behaviour with hand-built vectors: validation, version isolation, indexes, order."""

import numpy as np
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from similarity import vector_store
from similarity.ml.evaluation import InvalidEmbeddings
from similarity.models import ImageEmbedding, ModelVersion, ProductEmbedding
from tests.catalog.factories import shape_catalogue

pytestmark = pytest.mark.django_db


def version(dim: int, status: str = "ready") -> ModelVersion:
    return ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=dim, status=status
    )


def unit(*values) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def store(v: ModelVersion, products, vectors: list[np.ndarray]) -> None:
    images = [product.images.get() for product in products]
    vector_store.image_embeddings_upsert(
        version=v,
        image_ids=[image.pk for image in images],
        shas=[i.sha256 for i in images],
        vectors=np.stack(vectors),
    )
    vector_store.product_embeddings_refresh(version=v, product_ids=[p.pk for p in products])


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


def test_nearest_products_in_distance_order_and_only_from_one_version():
    products = shape_catalogue(colours=1)  # 4 products
    v1, v2 = version(2), version(3)
    store(v1, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)])
    store(v2, products, [unit(0, 0, 1)] * 4)
    for v in (v1, v2):
        vector_store.hnsw_index_build(version=v)

    found = vector_store.nearest_products(version=v1, vector=unit(1, 0), k=3)

    assert [n.product_id for n in found] == [products[0].pk, products[1].pk, products[2].pk]
    assert found[0].distance == pytest.approx(0.0, abs=1e-6)
    assert found[2].distance == pytest.approx(1.0, abs=1e-6)
    excluded = vector_store.nearest_products(
        version=v1, vector=unit(1, 0), k=2, exclude_product_ids=[products[0].pk]
    )
    assert [n.product_id for n in excluded] == [products[1].pk, products[2].pk]
    with pytest.raises(InvalidEmbeddings):  # a v1-sized vector cannot query v2
        vector_store.nearest_products(version=v2, vector=unit(1, 0), k=3)


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


def test_explain_shows_the_version_hnsw_index():
    products = shape_catalogue(colours=1)
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)])
    vector_store.hnsw_index_build(version=v)
    assert vector_store.hnsw_index_exists(version=v) is True

    plan = vector_store.explain_nearest(version=v, vector=unit(1, 0), k=2)

    assert f"Index Scan using {vector_store.index_name(v)}" in plan


def test_an_invalid_index_is_detected_and_rebuilt():
    from django.db import connection

    products = shape_catalogue(colours=1)
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)])
    vector_store.hnsw_index_build(version=v)
    with connection.cursor() as cursor:  # what an interrupted CREATE INDEX CONCURRENTLY leaves
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            [vector_store.index_name(v)],
        )
    assert vector_store.hnsw_index_exists(version=v) is False

    vector_store.hnsw_index_build(version=v)

    assert vector_store.hnsw_index_exists(version=v) is True


def test_at_most_one_active_version():
    version(2, status="active")
    with pytest.raises(IntegrityError, match="one_active_model_version"):
        version(2, status="active")


def test_ranking_candidates_read_a_stored_source_like_the_same_vectors_given():
    products = shape_catalogue(colours=1)  # 4 products
    v = version(2)
    store(v, products[:3], [unit(1, 0), unit(0.9, 0.1), unit(0, 1)])  # the last has no vector
    vector_store.hnsw_index_build(version=v)

    def ranked(source):
        found = vector_store.ranking_candidates(
            version=v, index=None, source=source, k=2, exclude_product_ids=[products[0].pk]
        )
        return found.source_has_image, [(c.product_id, c.tier, c.signals) for c in found.items]

    stored = ranked(vector_store.StoredVectors(products[0].pk))
    assert stored == ranked(vector_store.QueryVectors(image=unit(1, 0)))
    assert stored[0] is True
    assert {pid for pid, _, _ in stored[1]} == {products[1].pk, products[2].pk}
    assert {round(signals.image, 4) for _, _, signals in stored[1]} == {
        round(float(unit(0.9, 0.1)[0]), 4),
        0.0,
    }
    # Without a stored vector nothing is searched, and the caller learns why.
    assert ranked(vector_store.StoredVectors(products[3].pk)) == (False, [])
    assert ranked(vector_store.QueryVectors()) == (False, [])


def _prepared_rankings(v: ModelVersion) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of this connection's prepared ranking statements of `v`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ["%WITH source AS%", f"%model_version_id = {v.pk} %"],
        )
        return cursor.fetchall()


def test_the_unfiltered_ranking_statement_is_prepared_and_answers_as_planned_afresh(settings):
    from catalog.models import Product

    products = shape_catalogue(colours=1)  # 4 products
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0.2)])
    vector_store.hnsw_index_build(version=v)

    def ranked(product, **filters):
        found = vector_store.ranking_candidates(
            version=v,
            index=None,
            source=vector_store.StoredVectors(product.pk),
            k=2,
            exclude_product_ids=[product.pk],
            **filters,
        )
        return [(c.product_id, c.tier, c.signals, c.facts) for c in found.items]

    settings.PRODSIM_PREPARED_STATEMENTS = False
    planned_afresh = [ranked(product) for product in products]
    assert _prepared_rankings(v) == []

    settings.PRODSIM_PREPARED_STATEMENTS = True
    for _ in range(3):
        assert [ranked(product) for product in products] == planned_afresh
    # One statement for all twelve runs, planned with its values five times, then by the
    # generic plan PostgreSQL settled on.
    [(generic, custom)] = _prepared_rankings(v)
    assert (generic, custom) == (7, 5)
    # Django's query log (DEBUG, assertNumQueries, the debug toolbar) shows it with its values.
    with CaptureQueriesContext(connection) as queries:
        ranked(products[0])
    [logged] = [query["sql"] for query in queries]
    assert f"SELECT {products[0].pk}::bigint AS id" in logged

    # A filter's subquery is planned with its values every time: not prepared.
    allowed = Product.objects.filter(pk__in=[p.pk for p in products[1:3]])
    assert {pid for pid, *_ in ranked(products[0], allowed=allowed)} == {
        products[1].pk,
        products[2].pk,
    }
    assert _prepared_rankings(v) == [(8, 5)]
