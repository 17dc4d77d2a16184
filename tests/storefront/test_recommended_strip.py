"""Recommended for you on shopper pages: the recommendations selector over the session's own
events (its visitor id), explained, with its impressions logged and clicks tracked."""

import pytest

from experiments.models import Click, Impression
from tests.behaviour.factories import bought_together
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db

PRODUCTS = {
    "LANTERN": "Garden lantern",
    "TEALIGHT": "Tea lights",
    "MUG": "Striped mug",
    "SAUCER": "Saucer",
}


@pytest.fixture
def shop():
    for sku, title in PRODUCTS.items():
        add_product(sku, title)
    # What a refresh leaves after many orders of a lantern with tea lights, a mug with a saucer.
    for one, other in (("LANTERN", "TEALIGHT"), ("MUG", "SAUCER")):
        bought_together(one, other, both_ways=True)


def recommended(response) -> list[tuple[str, str]]:
    return [(entry.product.sku, entry.why) for entry in response.context["recommended"]]


def test_a_product_page_recommends_what_goes_with_the_shoppers_views(client, shop):
    client.get("/products/MUG/")

    response = client.get("/products/LANTERN/")

    shown = recommended(response)
    assert set(shown[:2]) == {
        ("TEALIGHT", "Because you viewed Garden lantern"),
        ("SAUCER", "Because you viewed Striped mug"),
    }
    # the newest view weighs most
    # Viewed products are left to the recently viewed strip.
    assert [sku for sku, _ in shown] == ["TEALIGHT", "SAUCER"]
    logged = Impression.objects.filter(
        widget="recommended", source_product__sku="LANTERN"
    ).order_by("position")
    assert [row.shown_product.sku for row in logged] == [sku for sku, _ in shown]


def test_the_home_page_follows_the_same_shopper_and_clicks_are_counted(client, shop):
    client.get("/products/MUG/")

    response = client.get("/")

    first = response.context["recommended"][0]
    assert (first.product.sku, first.why) == ("SAUCER", "Because you viewed Striped mug")
    assert client.get(first.click_url)["Location"] == "/products/SAUCER/"
    assert Click.objects.get().impression.widget == "recommended"


def test_another_shopper_gets_their_own_recommendations(client, shop):
    client.get("/products/MUG/")
    other = type(client)()
    other.get("/products/LANTERN/")

    mine = recommended(client.get("/"))
    theirs = recommended(other.get("/"))

    assert mine[0][0] == "SAUCER" and theirs[0][0] == "TEALIGHT"
