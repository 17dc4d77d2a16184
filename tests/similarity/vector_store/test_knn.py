"""Nearest-neighbour statements: distance order, one version at a time, filters."""

import pytest

from catalog.models import Product
from similarity import vector_store
from similarity.ml.validation import InvalidEmbeddings
from similarity.vector_store.sql import vector_literal
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("exact", [False, True])
def test_a_nearest_statement_carries_its_parameters_in_placeholder_order(exact):
    v = version(2)
    allowed = Product.objects.filter(sku__startswith="SQUARE")

    statement = vector_store.nearest_products_statement(
        version=v, vector=unit(1, 0), k=5, exclude_product_ids=[7, 8], allowed=allowed, exact=exact
    )

    literal = vector_literal(unit(1, 0))
    # The index form orders by the distance again, so it repeats the query vector.
    repeated = () if exact else (literal,)
    assert statement.params == (literal, "SQUARE%", [7, 8], *repeated)
    assert statement.sql.count("%s") == len(statement.params)
    assert statement.sql.endswith("LIMIT 5")


def test_a_forced_walk_filters_on_an_expression_no_btree_serves_and_finds_the_same():
    products = shape_catalogue(colours=1)
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)])
    vector_store.hnsw_index_build(version=v)
    allowed = Product.objects.filter(pk__in=[p.pk for p in products[1:]])

    def found(**options):
        statement = vector_store.nearest_products_statement(
            version=v, vector=unit(1, 0), k=2, allowed=allowed, **options
        )
        return statement, vector_store.neighbours_fetch(statement, k=2)

    walk, walked = found(force_walk=True)
    plain, planned = found()

    assert " AND (product_id + 0) IN (SELECT" in walk.sql
    assert " AND product_id IN (SELECT" in plain.sql
    assert walk.params == plain.params
    assert walked == planned
    assert [n.product_id for n in walked] == [products[1].pk, products[2].pk]
    with pytest.raises(ValueError, match="force_walk needs an `allowed` filter"):
        vector_store.nearest_products_statement(version=v, vector=unit(1, 0), k=2, force_walk=True)
