"""Curation rules change the serving query's answer: pin, block, boost, bury, validity."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Category, Product
from similarity.models import MerchandisingRule
from similarity.selectors import SimilarQuery, similar_products_for
from tests.similarity.factories import image_only_weights, vector_catalogue

pytestmark = pytest.mark.django_db


def skus(source, **query) -> list[str]:
    result = similar_products_for(
        product=source, query=SimilarQuery(k=5, weights=image_only_weights(), **query)
    )
    return [item.product.sku for item in result.items]


def test_block_removes_the_product_and_keeps_k():
    products, _ = vector_catalogue()
    before = skus(products[0])
    MerchandisingRule.objects.create(
        kind="block", source_product=products[0], target_product=Product.objects.get(sku=before[0])
    )
    after = skus(products[0])
    assert before[0] not in after and len(after) == 5
    assert after[:4] == before[1:]


def test_pin_puts_a_product_at_its_position_within_the_filters():
    products, _ = vector_catalogue()
    target = products[41]  # a plate (41 % 4 == 1), in stock
    MerchandisingRule.objects.create(
        kind="pin",
        source_category=Category.objects.get(path="Home"),
        target_product=target,
        position=2,
    )
    pinned = similar_products_for(product=products[0], query=SimilarQuery(k=5))
    assert pinned.items[1].product == target and pinned.items[1].tier == "pinned"
    assert len(pinned.items) == 5
    # A filter the pinned product does not pass keeps it out.
    filtered = skus(products[0], category="Home > Mugs")
    assert target.sku not in filtered


def test_boost_and_bury_reorder_by_brand_or_tag():
    products, _ = vector_catalogue()
    plain = skus(products[0])
    last_brand = Product.objects.get(sku=plain[-1]).brand
    MerchandisingRule.objects.create(kind="boost", brand=last_brand, factor=10)
    assert Product.objects.get(sku=skus(products[0])[0]).brand == last_brand
    MerchandisingRule.objects.all().delete()
    first_brand = Product.objects.get(sku=plain[0]).brand
    MerchandisingRule.objects.create(kind="bury", brand=first_brand, factor=100)
    assert Product.objects.get(sku=skus(products[0])[0]).brand != first_brand


def test_rules_outside_their_validity_or_scope_do_nothing():
    products, _ = vector_catalogue()
    plain = skus(products[0])
    target = Product.objects.get(sku=plain[0])
    now = timezone.now()
    MerchandisingRule.objects.create(
        kind="block", target_product=target, valid_from=now + dt.timedelta(days=1)
    )
    MerchandisingRule.objects.create(
        kind="block", target_product=target, valid_until=now - dt.timedelta(days=1)
    )
    MerchandisingRule.objects.create(
        kind="block", target_product=target, source_product=products[2]
    )  # another product's list
    MerchandisingRule.objects.create(kind="block", target_product=target, is_active=False)
    assert skus(products[0]) == plain


def test_out_of_stock_can_be_excluded_shop_wide(settings):
    products, _ = vector_catalogue()
    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = True
    result = similar_products_for(product=products[1], query=SimilarQuery(k=60))
    assert result.k_returned == 60
    assert all(item.product.in_stock for item in result.items)


def test_a_pin_and_a_block_in_the_same_scope_both_apply():
    products, _ = vector_catalogue()
    before = skus(products[0])
    blocked, pinned = Product.objects.get(sku=before[0]), products[41]
    MerchandisingRule.objects.create(kind="block", target_product=blocked)
    MerchandisingRule.objects.create(kind="pin", target_product=pinned, position=1)

    after = skus(products[0])

    assert after[0] == pinned.sku and blocked.sku not in after and len(after) == 5
