"""The serving query: guaranteed k under filters, fallback tiers, diversity, collapse."""

import numpy as np
import pytest

from catalog.models import Product
from similarity import vector_store
from similarity.models import ModelVersion
from similarity.selectors import SimilarQuery, similar_products_for, similar_to_vector
from similarity.selectors.similar import TIER_CATEGORY, TIER_IMAGE
from tests.similarity.factories import image_only_weights, vector_catalogue

pytestmark = pytest.mark.django_db


def active() -> ModelVersion:
    return ModelVersion.objects.get(status="active")


def skus(result) -> list[str]:
    return [item.product.sku for item in result.items]


@pytest.mark.parametrize(
    ("query", "expected_count"),
    [
        (SimilarQuery(k=10), 10),  # 100 % of the catalogue
        (SimilarQuery(k=10, category="Home > Mugs"), 10),  # 25 %
        # 1, 21, 41, 61 match; 1 is the source's own variant: 3 exist
        (SimilarQuery(k=10, brands=("B1",), categories=("Home > Plates",)), 3),
        (SimilarQuery(k=10, price_min=85, price_max=89), 5),  # fewer than k: all of them
        (SimilarQuery(k=10, brands=("nobody",)), 0),
    ],
)
def test_exactly_k_or_all_that_exist(query, expected_count):
    products, _ = vector_catalogue()
    source = products[0]
    result = similar_products_for(product=source, query=query)

    allowed = Product.objects.exclude(group_id=source.group_id)
    if query.category != "any":
        allowed = allowed.filter(category__path=query.category)
    if query.categories:
        allowed = allowed.filter(category__path__in=query.categories)
    if query.brands:
        allowed = allowed.filter(brand__in=query.brands)
    if query.price_min is not None:
        allowed = allowed.filter(price__gte=query.price_min, price__lte=query.price_max)
    assert result.k_returned == expected_count == min(query.k, allowed.count())
    assert {item.product.pk for item in result.items} <= set(allowed.values_list("pk", flat=True))


def test_unfiltered_results_are_the_exact_nearest_neighbours():
    products, vectors = vector_catalogue()
    result = similar_products_for(
        product=products[0], query=SimilarQuery(k=5, weights=image_only_weights())
    )
    distances = 1 - vectors[2:] @ vectors[0]  # products 0 and 1 are one variant group
    assert skus(result) == [f"P{i + 2:03}" for i in np.argsort(distances)[:5]]
    assert {item.tier for item in result.items} == {TIER_IMAGE}


def test_price_band_and_stock_filters():
    products, _ = vector_catalogue()
    source = products[40]  # price 50
    result = similar_products_for(
        product=source, query=SimilarQuery(k=50, price_band=0.1, in_stock_only=True)
    )
    prices = [float(item.product.price) for item in result.items]
    assert prices and all(50 / 1.1 <= price <= 55 for price in prices)
    assert all(item.product.in_stock for item in result.items)


def test_same_category_and_price_band_hold_for_a_source_without_either():
    """For a product without a category, category=same was dropped (and the fill came from
    every category); for one priced 0, the price band was: the list held any category and any
    price without a word."""
    products, _ = vector_catalogue()
    source, free_uncategorised, priced = products[40], products[50], products[60]
    Product.objects.filter(pk__in=[source.pk, free_uncategorised.pk]).update(category=None, price=0)
    Product.objects.filter(pk=priced.pk).update(category=None)
    source.refresh_from_db()

    same = similar_products_for(product=source, query=SimilarQuery(k=10, category="same"))
    band = similar_products_for(product=source, query=SimilarQuery(k=10, price_band=0.2))

    assert sorted(skus(same)) == [free_uncategorised.sku, priced.sku]  # all there are
    assert skus(band) == [free_uncategorised.sku]  # priced 0, as the source


def test_variants_are_excluded_unless_asked_for():
    products, _ = vector_catalogue()
    default = similar_products_for(product=products[0], query=SimilarQuery(k=79))
    assert "P001" not in skus(default) and default.k_returned == 78
    with_variants = similar_products_for(
        product=products[0], query=SimilarQuery(k=79, include_variants=True)
    )
    assert "P001" in skus(with_variants)


def test_near_duplicate_variants_collapse_to_one():
    products, vectors = vector_catalogue()
    # Make products 2 and 3 (one group) identical pictures, and closest to product 0.
    version = ModelVersion.objects.get()
    ids = [products[2].images.get(), products[3].images.get()]
    vector_store.image_embeddings_upsert(
        version=version,
        image_ids=[i.pk for i in ids],
        shas=[i.sha256 for i in ids],
        vectors=np.stack([vectors[0], vectors[0]]) * 0.999 + 0.001,
    )
    vector_store.product_embeddings_refresh(
        version=version, product_ids=[products[2].pk, products[3].pk]
    )
    result = similar_products_for(
        product=products[0], query=SimilarQuery(k=5, weights=image_only_weights())
    )
    assert skus(result)[0] in {"P002", "P003"}
    assert len({"P002", "P003"} & set(skus(result))) == 1


def test_mmr_diversifies_the_list():
    products, vectors = vector_catalogue()
    plain = similar_products_for(
        product=products[0], query=SimilarQuery(k=6, weights=image_only_weights())
    )
    diverse = similar_products_for(
        product=products[0], query=SimilarQuery(k=6, weights=image_only_weights(), diversity=0.3)
    )
    assert skus(diverse)[0] == skus(plain)[0]  # the best match always leads

    def mean_pairwise(result):
        v = np.stack([vectors[int(s[1:])] for s in skus(result)])
        sims = v @ v.T
        return (sims.sum() - len(v)) / (len(v) * (len(v) - 1))

    assert mean_pairwise(diverse) < mean_pairwise(plain)


def test_fallback_fills_with_the_newest_of_the_category_and_says_so():
    products, _ = vector_catalogue(count=8)
    ModelVersion.objects.update(status="ready")  # no active version: no vectors to use
    result = similar_products_for(product=products[0], query=SimilarQuery(k=3))
    assert [item.tier for item in result.items] == [TIER_CATEGORY]
    assert skus(result) == ["P004"]  # the only other mug (0, 4 are mugs; 1 is 0's variant)
    assert result.model_version is None


def _withdraw_nearest(vectors, source: int, count: int) -> set[str]:
    """Withdraw the `count` products nearest to product `source` (its variant aside), as the
    catalogue leaves them: inactive, their vectors still stored."""
    order = [int(i) for i in np.argsort(-(vectors @ vectors[source])) if i // 2 != source // 2]
    skus = {f"P{i:03}" for i in order[:count]}
    Product.objects.filter(sku__in=skus).update(is_active=False)
    return skus


def test_withdrawn_nearest_neighbours_still_leave_k():
    products, vectors = vector_catalogue()
    withdrawn = _withdraw_nearest(vectors, 1, 12)

    result = similar_products_for(product=products[1], query=SimilarQuery(k=60))

    assert result.k_returned == 60 and withdrawn.isdisjoint(skus(result))
    assert {item.tier for item in result.items} == {TIER_IMAGE}  # no fill needed


def test_image_search_keeps_k_when_the_nearest_are_withdrawn():
    _, vectors = vector_catalogue()
    withdrawn = _withdraw_nearest(vectors, 1, 12)

    result = similar_to_vector(vector=vectors[1], query=SimilarQuery(k=50), version=active())

    assert result.k_returned == 50 and withdrawn.isdisjoint(skus(result))


def test_a_few_withdrawn_candidates_cost_no_second_search():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    products, vectors = vector_catalogue()

    def statements() -> int:
        with CaptureQueriesContext(connection) as run:
            result = similar_products_for(product=products[1], query=SimilarQuery(k=5))
        assert result.k_returned == 5
        return len(run.captured_queries)

    before = statements()
    _withdraw_nearest(vectors, 1, 3)  # 47 of the 50 candidates still active: enough for k

    assert statements() == before
