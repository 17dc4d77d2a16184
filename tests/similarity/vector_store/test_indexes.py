"""Per-version HNSW indexes: used by the query, rebuilt after an interrupted build."""

import pytest

from similarity import vector_store
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


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
