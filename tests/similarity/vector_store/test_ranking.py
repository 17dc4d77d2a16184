"""The ranking statement: candidates of both indexes with their signals and catalogue facts."""

from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Product
from catalog.ranking_facts import RankingFacts
from similarity import vector_store
from similarity.vector_store.ranking import RANKING_COLUMNS
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


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


def test_ranking_candidates_carry_the_catalogue_facts_of_active_products_only():
    products = shape_catalogue(colours=1)  # square, bar, cross, frame
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0.2)])
    vector_store.hnsw_index_build(version=v)
    Product.objects.filter(pk=products[1].pk).update(
        brand="Acme", tags=["mug"], attributes={"colour": "red"}, price=Decimal("12.50")
    )
    Product.objects.filter(pk=products[2].pk).update(is_active=False)

    found = vector_store.ranking_candidates(
        version=v,
        index=None,
        source=vector_store.StoredVectors(products[0].pk),
        k=3,
        exclude_product_ids=[products[0].pk],
    )

    assert {c.product_id: (c.tier, c.facts) for c in found.items} == {
        products[1].pk: (
            "image",
            RankingFacts(
                products[1].pk, "Acme", "Shapes > bar", ["mug"], {"colour": "red"}, 12.5, "bar-0"
            ),
        ),
        products[2].pk: ("image", None),  # inactive
        products[3].pk: (
            "image",
            RankingFacts(products[3].pk, "", "Shapes > frame", [], {}, 10.0, "frame-0"),
        ),
    }


def test_a_variant_group_is_left_out_by_its_id():
    products = shape_catalogue(colours=2)  # square 0, square 1, bar 0, bar 1, ...
    v = version(2)
    store(v, products[:4], [unit(1, 0), unit(0.9, 0.1), unit(0.8, 0.2), unit(0, 1)])
    vector_store.hnsw_index_build(version=v)

    found = vector_store.ranking_candidates(
        version=v,
        index=None,
        source=vector_store.StoredVectors(products[0].pk),
        k=4,
        exclude_group_id=products[0].group_id,
    )

    assert {c.product_id for c in found.items} == {products[2].pk, products[3].pk}


def test_ranking_rows_are_read_by_the_names_the_statement_selects():
    statement = vector_store.ranking_statement(
        version=version(2), index=None, source=vector_store.QueryVectors(), k=2
    )

    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        assert tuple(column.name for column in cursor.description) == RANKING_COLUMNS
