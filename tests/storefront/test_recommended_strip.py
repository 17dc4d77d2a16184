"""Recommended for you on shopper pages: the recommendations selector over the session's own
events (its visitor id), explained, with its impressions logged and clicks tracked; and recently
viewed beside it, which it never repeats."""

import pytest

from catalog.models import Product
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


def test_the_product_of_the_page_is_never_recommended_on_it(client, shop):
    # Repeats are allowed by default: a bought product may come back, but not on its own page.
    client.get("/products/MUG/")
    client.post("/basket/add/MUG/", {"quantity": "1"})
    client.post("/checkout/")

    response = client.get("/products/MUG/")

    assert "MUG" not in [sku for sku, _ in recommended(response)]


def test_what_recently_viewed_shows_is_not_repeated_in_recommended(client, shop):
    client.get("/products/SAUCER/")
    client.post("/basket/add/SAUCER/", {"quantity": "1"})  # repeats allowed: not left out

    response = client.get("/products/LANTERN/")

    shown = {sku for sku, _ in recommended(response)}
    recently = [entry.product.sku for entry in response.context["recently_viewed"]]
    assert recently == ["SAUCER"]
    assert not shown & set(recently), (shown, recently)


def test_recently_viewed_fills_its_row_past_a_withdrawn_product(client):
    for n in range(1, 8):
        add_product(f"P{n}", f"Product {n}")
    for n in range(1, 8):
        client.get(f"/products/P{n}/")  # P7 newest; seven remembered
    Product.objects.filter(sku="P7").update(is_active=False)  # withdrawn since

    shown = [entry.product.sku for entry in client.get("/").context["recently_viewed"]]

    assert shown == ["P6", "P5", "P4", "P3", "P2", "P1"]
