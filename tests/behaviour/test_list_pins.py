"""A product pinned into a behaviour list (bought together, recommended) is shown like the
products around it: with its photo, on the storefront too."""

import pytest

from behaviour import selectors as behaviour_selectors
from catalog.models import ProductImage
from similarity.models import MerchandisingRule
from similarity.selectors import SimilarQuery
from tests.behaviour.factories import bought_together
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def with_image(sku: str):
    made = product(sku=sku, title=f"Title {sku}")
    ProductImage.objects.create(
        product=made,
        file=f"products/{sku}.jpg",
        sha256=sku.ljust(64, "0"),
        width=1,
        height=1,
        is_primary=True,
    )
    return made


@pytest.fixture
def pinned_shop():
    """PIN is pinned first everywhere; it is the oldest product, so no newest-products fill
    brings it in by itself."""
    pinned = with_image("PIN")
    source = with_image("A")
    with_image("B")
    for number in range(8):
        with_image(f"X{number}")
    bought_together("A", "B")
    MerchandisingRule.objects.create(kind="pin", target_product=pinned, position=1)
    return source


def test_a_pinned_product_comes_with_its_image(pinned_shop):
    items = behaviour_selectors.bought_together(product=pinned_shop, query=SimilarQuery(k=6)).items
    by_sku = {item.product.sku: item for item in items}

    assert items[0].product.sku == "PIN" and by_sku["PIN"].tier == "pinned"
    assert len(by_sku["PIN"].product.primary) == len(by_sku["B"].product.primary) == 1


def test_the_product_pages_strip_shows_the_pinned_products_photo(client, pinned_shop):
    page = client.get(pinned_shop.get_absolute_url()).content.decode()
    strip = page.split('id="bought-together"')[1].split("</section>")[0]

    assert "Title PIN" in strip and "No image" not in strip


@pytest.fixture
def trending_shop():
    from behaviour.models import ProductPopularity

    made = {sku: product(sku=sku, title=f"P {sku}") for sku in "ABCD"}
    for sku, score in (("A", 4.0), ("B", 3.0), ("C", 2.0)):
        ProductPopularity.objects.create(product=made[sku], score=score)
    return made


def trending_skus(partner_client) -> list[tuple[str, str]]:
    response = partner_client.get("/api/v1/trending/?k=3")
    return [(row["sku"], row["tier"]) for row in response.json()["results"]]


def test_shop_wide_rules_apply_to_trending(partner_client, trending_shop):
    # Trending has no source product: the rules scoped to no product or category apply, as on
    # the recommendations; a blocked product is never trending and a pin takes its place.
    MerchandisingRule.objects.create(kind="block", target_product=trending_shop["A"])
    MerchandisingRule.objects.create(kind="pin", target_product=trending_shop["D"], position=1)

    assert trending_skus(partner_client) == [("D", "pinned"), ("B", "trending"), ("C", "trending")]
