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
        product=source, query=SimilarQuery(**{"k": 5, "weights": image_only_weights(), **query})
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
    # With MMR the boost still counts; explain gives the factor that put an item where it is.
    boosted = similar_products_for(
        product=products[0], query=SimilarQuery(k=5, weights=image_only_weights(), diversity=0.9)
    ).items
    assert boosted[0].product.brand == last_brand
    assert boosted[0].breakdown.as_dict()["merchandising"] == 10
    assert {item.breakdown.merchandising for item in boosted[1:]} <= {1.0, 10.0}
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


def test_two_pins_each_keep_their_position():
    products, _ = vector_catalogue()
    plain = skus(products[0])
    top, other = Product.objects.get(sku=plain[0]), products[41]  # organic #1, and one not listed
    MerchandisingRule.objects.create(kind="pin", target_product=other, position=2)
    MerchandisingRule.objects.create(kind="pin", target_product=top, position=3)

    pinned = skus(products[0])

    assert (pinned[1], pinned[2]) == (other.sku, top.sku) and len(pinned) == 5


@pytest.mark.parametrize("product_pin_first", [True, False], ids=["older", "newer"])
def test_two_pins_at_one_position_the_narrower_scope_holds_it(product_pin_first):
    """The newer rule took the place and pushed the other down (at position k, off the list),
    whichever scope each had: a shop-wide pin could beat the product's own."""
    products, _ = vector_catalogue()
    source = products[0]
    own, shop_wide = products[41], products[42]

    def pin(target, **scope):
        MerchandisingRule.objects.create(kind="pin", target_product=target, position=1, **scope)

    if product_pin_first:
        pin(own, source_product=source)
        pin(shop_wide)
    else:
        pin(shop_wide)
        pin(own, source_product=source)

    listed = skus(source)

    assert listed[0] == own.sku and shop_wide.sku not in listed and len(listed) == 5


def test_a_pin_beyond_the_list_leaves_it_as_it_is():
    products, _ = vector_catalogue()
    plain = skus(products[0])
    MerchandisingRule.objects.create(
        kind="pin", target_product=Product.objects.get(sku=plain[0]), position=10
    )

    assert skus(products[0]) == plain
    assert skus(products[0], k=12)[9] == plain[0]


def test_a_rule_for_one_products_list_stays_on_that_list():
    from django.core.exceptions import ValidationError

    products, _ = vector_catalogue()
    neighbour = products[4]  # the same category as products[0]
    before = skus(neighbour)
    rule = MerchandisingRule(
        kind="block",
        source_product=products[0],
        source_category=products[0].category,
        target_product=Product.objects.get(sku=before[0]),
    )
    with pytest.raises(ValidationError, match="not both"):
        rule.full_clean()
    rule.save()  # written past the admin: it keeps to the product, as the admin lists it

    assert skus(neighbour) == before and before[0] not in skus(products[0])


def test_a_cached_list_follows_a_rule_that_ends(partner_client, django_capture_on_commit_callbacks):
    from unittest import mock

    products, _ = vector_catalogue()
    url = f"/api/v1/products/{products[0].sku}/similar/?k=5"
    plain = [row["sku"] for row in partner_client.get(url).json()["results"]]
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):  # as the admin's save: a bump
        MerchandisingRule.objects.create(
            kind="block",
            target_product=Product.objects.get(sku=plain[0]),
            valid_until=start + dt.timedelta(minutes=1),
        )
    during = [row["sku"] for row in partner_client.get(url).json()["results"]]
    cached = partner_client.get(url)

    with mock.patch("django.utils.timezone.now", return_value=start + dt.timedelta(minutes=10)):
        after = partner_client.get(url)

    assert plain[0] not in during and cached["X-Cache"] == "hit"
    assert after["X-Cache"] == "miss" and after.json()["results"][0]["sku"] == plain[0]


def test_the_storefront_says_featured_for_a_pinned_similar_product(client):
    products, _ = vector_catalogue()
    pinned = products[41]
    MerchandisingRule.objects.create(kind="pin", target_product=pinned, position=1)

    page = client.get(products[0].get_absolute_url()).content.decode()
    strip = page.split('id="similar-strip"')[1].split("</section>")[0]
    first_card = strip.split('<li class="card">')[1]

    assert pinned.title in first_card and "Featured" in first_card
    assert "% match" not in first_card


def test_fusion_weights_all_at_zero_are_refused_with_the_reason():
    from django.core.exceptions import ValidationError

    from similarity.models import FusionWeights

    weights = FusionWeights(image=0, text=0, text_learned=0, attributes=0, price=0)

    with pytest.raises(ValidationError, match="At least one signal needs a weight above 0"):
        weights.full_clean()
    FusionWeights(image=0, text=1, text_learned=0, attributes=0, price=0).full_clean()


def test_a_shop_wide_block_holds_in_image_search():
    from similarity.models import ModelVersion
    from similarity.selectors import similar_to_vector

    products, vectors = vector_catalogue()
    version = ModelVersion.objects.get(status="active")

    def found() -> list[str]:
        result = similar_to_vector(vector=vectors[7], query=SimilarQuery(k=5), version=version)
        return [item.product.sku for item in result.items]

    before = found()
    assert before[0] == "P007"
    second = Product.objects.get(sku=before[1])
    # A rule scoped to one product's list needs that source; a photo is none.
    MerchandisingRule.objects.create(
        kind="block", source_product=products[0], target_product=second
    )
    MerchandisingRule.objects.create(kind="block", target_product=products[7])

    after = found()

    assert "P007" not in after and len(after) == 5 and after[0] == second.sku


def test_a_shop_wide_block_holds_in_the_image_search_api_and_more_that_look_like_this(
    partner_client, client, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.catalog.factories import image_bytes

    products, vectors = vector_catalogue()
    monkeypatch.setattr(
        "similarity.api.views.search.image_query_vector", lambda data, version: vectors[7]
    )

    def api() -> list[str]:
        photo = SimpleUploadedFile("q.jpg", image_bytes(), content_type="image/jpeg")
        answer = partner_client.post("/api/v1/search/image/?k=5", {"image": photo}).json()
        return [row["sku"] for row in answer["results"]]

    def storefront() -> list[str]:  # "More that look like this" on P007's page
        result = client.get("/search/photo/?sku=P007").context["result"]
        return [item.product.sku for item in result.items]

    assert api()[0] == "P007"
    shown = storefront()[0]
    with django_capture_on_commit_callbacks(execute=True):  # as the admin's save: a bump
        MerchandisingRule.objects.create(kind="block", target_product=products[7])
        MerchandisingRule.objects.create(kind="block", target_product=products[int(shown[1:])])

    assert "P007" not in api() and len(api()) == 5
    assert shown not in storefront()


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_a_rule_factor_or_a_weight_that_is_no_number_is_refused_by_the_database(value):
    """PostgreSQL orders NaN above every number, so "factor > 0" and "weight >= 0" let it in
    (a shell save, raw SQL): a NaN weight made every score NaN, a 500 on every list."""
    from django.db import IntegrityError, transaction

    from similarity.models import FusionWeights

    with pytest.raises(IntegrityError, match="rule_factor_finite"), transaction.atomic():
        MerchandisingRule.objects.create(kind="boost", brand="B1", factor=value)
    with pytest.raises(IntegrityError, match="fusion_weights_finite"), transaction.atomic():
        FusionWeights.objects.create(image=value, text=1, text_learned=1, attributes=1, price=1)
