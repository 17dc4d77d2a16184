"""The behaviour strips: frequently bought together and also viewed on product pages, trending on
the home page; each item's why-hint shown, impressions logged, clicks through the redirect."""

import re

import pytest
from django.test import Client

from behaviour.services.refresh import behaviour_refresh
from catalog.models import Product
from experiments import services as experiment_services
from experiments.models import Click, Experiment, Impression
from similarity.models import MerchandisingRule
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db

PRODUCTS = {
    "A": ("Striped mug", "Home > Kitchen > Mugs"),
    "B": ("Linen cushion", "Home > Decor > Cushions"),
    "C": ("Table lamp", "Home > Decor > Lamps"),
    "D": ("Canvas sneaker", "Fashion > Shoes > Sneakers"),
    "E": ("Straw hat", "Fashion > Accessories > Hats"),
}


@pytest.fixture
def shop():
    for sku, (title, category) in PRODUCTS.items():
        add_product(sku, title, category=category)


def checkout(skus: list[str]) -> None:
    """One shopper (a new session) adds the products and places the order."""
    shopper = Client()
    for sku in skus:
        shopper.post(f"/basket/add/{sku}/", {"quantity": "1"})
    assert shopper.post("/checkout/")["Location"] == "/checkout/placed/"


def browse(skus: list[str]) -> None:
    """One shopper (a new session) views these product pages in turn."""
    shopper = Client()
    for sku in skus:
        assert shopper.get(f"/products/{sku}/").status_code == 200


def strip(response, widget: str) -> list[tuple[str, str]]:
    return [(entry.product.sku, entry.why) for entry in response.context[widget]]


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<section class="strip" id="{element_id}">(.*?)</section>', html, re.S)
    assert match, f"no #{element_id} strip"
    return match.group(1)


def impressions(widget: str) -> list[tuple]:
    return list(
        Impression.objects.filter(widget=widget)
        .order_by("position")
        .values_list("position", "source_product__sku", "shown_product__sku", "model_version")
    )


def test_products_bought_together_show_on_each_others_pages_with_why(client, shop):
    checkout(["A", "B"])
    checkout(["A", "B", "C"])
    checkout(["A", "B"])
    checkout(["D", "E"])
    behaviour_refresh()

    response = client.get("/products/A/")

    items = strip(response, "bought_together")
    assert items[:2] == [
        ("B", "Bought together in 3 orders in the last 90 days"),
        ("C", "Bought together in the last 90 days"),  # one order: not counted aloud
    ]
    html = section(response.content.decode(), "bought-together")
    assert "<h2>Frequently bought together</h2>" in html
    assert '<span class="card-title">Linen cushion</span>' in html
    assert '<span class="why">Bought together in 3 orders in the last 90 days</span>' in html
    assert len(items) == 4  # every other product: the lists fill to k from later tiers


def test_a_pair_bought_together_only_before_the_window_is_not_called_often(client, shop, settings):
    settings.PRODSIM_BEHAVIOUR_WHY_DAYS = 0  # the pair's one order is older than the window
    checkout(["A", "B"])
    behaviour_refresh()

    response = client.get("/products/A/")

    assert strip(response, "bought_together")[0] == ("B", "Bought together before")


def test_products_viewed_in_one_visit_show_as_also_viewed(client, shop):
    browse(["A", "C"])
    browse(["C", "A", "E"])
    behaviour_refresh()

    response = client.get("/products/A/")

    assert strip(response, "also_viewed")[:2] == [
        ("C", "Viewed together in the last 90 days"),  # under 3 visits: not counted aloud
        ("E", "Viewed together in the last 90 days"),
    ]
    html = section(response.content.decode(), "also-viewed")
    assert "<h2>Shoppers who viewed this also viewed</h2>" in html


def test_the_product_strips_log_impressions_and_their_clicks(client, shop):
    checkout(["A", "B"])
    behaviour_refresh()

    response = client.get("/products/A/")

    shown = [entry.product.sku for entry in response.context["bought_together"]]
    assert impressions("bought_together") == [
        (position, "A", sku, None) for position, sku in enumerate(shown, start=1)
    ]
    also_viewed = [entry.product.sku for entry in response.context["also_viewed"]]
    assert impressions("also_viewed") == [
        (position, "A", sku, None) for position, sku in enumerate(also_viewed, start=1)
    ]
    first = response.context["bought_together"][0]
    assert first.click_url.startswith("/r/?t=")
    assert f'href="{first.click_url}" rel="nofollow"' in section(
        response.content.decode(), "bought-together"
    )
    click = client.get(first.click_url)
    assert (click.status_code, click["Location"]) == (302, "/products/B/")
    assert Click.objects.get().impression.widget == "bought_together"


def test_trending_on_the_home_page_is_logged_once_the_shopper_has_a_session(client, shop):
    checkout(["B", "C"])
    checkout(["B"])
    behaviour_refresh()
    client.get("/products/E/")  # the shopper's session starts here
    Impression.objects.all().delete()

    response = client.get("/")

    assert strip(response, "trending")[:2] == [
        ("B", "Trending: 2 bought lately"),
        ("C", "Trending: 1 bought lately"),
    ]
    shown = [entry.product.sku for entry in response.context["trending"]]
    assert impressions("trending") == [
        (position, None, sku, None) for position, sku in enumerate(shown, start=1)
    ]
    html = section(response.content.decode(), "trending")
    assert "<h2>Trending</h2>" in html
    assert '<span class="why">Trending: 2 bought lately</span>' in html


def test_a_new_visitor_sees_trending_with_plain_links_and_no_session(client, shop):
    checkout(["B"])
    behaviour_refresh()
    Impression.objects.all().delete()

    response = client.get("/")

    assert strip(response, "trending")[0] == ("B", "Trending: 1 bought lately")
    assert '<a href="/products/B/">' in section(response.content.decode(), "trending")
    assert Impression.objects.count() == 0
    assert "sessionid" not in client.cookies


@pytest.mark.parametrize("params", [{"page": 2}, {"q": "mug"}, {"category": "home-decor"}])
def test_trending_is_on_the_first_page_of_all_products_only(client, shop, params):
    for index in range(30):
        add_product(f"M{index:02}", f"Mug {index:02}")
    client.get("/products/A/")

    response = client.get("/", params)

    assert "trending" not in response.context
    assert 'id="trending"' not in response.content.decode()


def newest_arm_of_trending(client) -> list[str]:
    """The home page's trending strip as the candidate arm of a trending test sees it."""
    experiment = Experiment.objects.create(
        name="newest", widget="trending", variant=Experiment.Variant.NEWEST, share=100
    )
    experiment_services.experiment_start(experiment=experiment)
    client.get("/products/A/")  # a session and a viewed product: the home page logs
    return [entry.product.sku for entry in client.get("/").context["trending"]]


def test_the_newest_arm_of_a_trending_test_leaves_out_of_stock_products_out(client, shop, settings):
    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = True
    add_product("SOLD-OUT", "Sold-out novelty", in_stock=False)

    shown = newest_arm_of_trending(client)

    assert "SOLD-OUT" not in shown and len(shown) == len(PRODUCTS)


def test_the_newest_arm_of_a_trending_test_honours_a_shop_wide_block(client, shop):
    add_product("BLOCKED", "Blocked novelty")
    MerchandisingRule.objects.create(
        kind="block", target_product=Product.objects.get(sku="BLOCKED")
    )

    shown = newest_arm_of_trending(client)

    assert "BLOCKED" not in shown and len(shown) == len(PRODUCTS)


def test_a_customer_without_a_history_sees_trending_once_on_the_home_page(client, shop):
    """Recommended for you falls back to trending for a customer with no events yet: both
    strips showed the same products, each captioned as trending."""
    from django.contrib.auth.models import User

    for n in range(10):  # enough for two full strips
        add_product(f"N{n}", f"Newer {n}")
    checkout(["B", "C"])
    checkout(["B"])
    behaviour_refresh()
    User.objects.create_user(username="ada", password="a long enough password")
    client.post("/account/sign-in/", {"username": "ada", "password": "a long enough password"})

    response = client.get("/")

    trending = {sku for sku, _ in strip(response, "trending")}
    recommended = {sku for sku, _ in strip(response, "recommended")}
    assert {"B", "C"} <= trending and not trending & recommended, (trending, recommended)
    assert len(recommended) == 6  # filled on from further down, not shortened


def test_while_trending_is_ab_tested_recommended_for_you_does_not_follow_its_arm(client, shop):
    """Left out of Recommended for you, Trending's arm would change that strip too."""
    from django.contrib.auth.models import User

    from experiments.services import experiment_start

    checkout(["B", "C"])
    checkout(["B"])
    behaviour_refresh()
    experiment_start(
        experiment=Experiment.objects.create(
            name="newest", widget="trending", variant=Experiment.Variant.NEWEST, share=0
        )
    )
    User.objects.create_user(username="ada", password="a long enough password")
    client.post("/account/sign-in/", {"username": "ada", "password": "a long enough password"})

    response = client.get("/")

    trending = {sku for sku, _ in strip(response, "trending")}
    recommended = {sku for sku, _ in strip(response, "recommended")}
    assert {"B", "C"} <= trending & recommended  # both strips as without the other
