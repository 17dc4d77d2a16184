"""Lists asked with filters or exclusions rank within them: a filter's own best sellers and
partners come first, never the newest products in their place."""

import pytest

from behaviour.selectors.tiers import WHY_NEWEST_ANYWHERE
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def _record(orders: list[tuple[list[str], int]]) -> None:
    """Each (skus, times): that many orders of those SKUs, then one full refresh."""
    lines = []
    for number, (skus, times) in enumerate(orders):
        for copy in range(times):
            lines += order(skus, f"v{number}-{copy}", f"o{number}-{copy}")
    for start in range(0, len(lines), 1000):
        events_record(items=lines[start : start + 1000])
    behaviour_refresh(full=True)


def _listed(client, url: str) -> list[tuple[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return [(item["sku"], item["tier"]) for item in response.json()["results"]]


def test_trending_within_a_brand_ranks_that_brands_best_seller_first(partner_client):
    """The shop's 10 best sellers are of another brand: brand Small's own best seller Z is its
    trending product, not its newest product N."""
    for n in range(10):
        product(sku=f"B{n}", title=f"Bestseller {n}", brand="Big")
    product(sku="Z", title="Zebra", brand="Small")
    product(sku="N", title="Newest", brand="Small")
    _record([([f"B{n}"], 5) for n in range(10)] + [(["Z"], 2)])

    assert _listed(partner_client, "/api/v1/trending/?k=1&brand=Small") == [("Z", "trending")]


def test_trending_excluding_the_products_shown_continues_with_the_next_best_sellers(
    partner_client,
):
    for n in range(12):
        product(sku=f"T{n:02}", title=f"Top {n}")
    product(sku="NEW", title="Brand new")
    _record([([f"T{n:02}"], 20 - n) for n in range(12)])  # T00 sells most, then T01, ...
    shown = "&".join(f"exclude=T{n:02}" for n in range(8))

    assert _listed(partner_client, f"/api/v1/trending/?k=2&{shown}") == [
        ("T08", "trending"),
        ("T09", "trending"),
    ]


def test_a_filtered_bought_together_list_finds_the_one_partner_of_that_brand(partner_client):
    """A is bought with 25 products of brand Big often, once with Q of brand Small: asked for
    Small, Q is A's partner, ahead of Small's trending Z."""
    product(sku="A", title="Anchor", brand="Big")
    for n in range(25):
        product(sku=f"P{n:02}", title=f"Partner {n}", brand="Big")
    product(sku="Q", title="Quiet partner", brand="Small")
    product(sku="Z", title="Zebra", brand="Small")
    _record([(["A", f"P{n:02}"], 3) for n in range(25)] + [(["A", "Q"], 1), (["Z"], 2)])

    listed = _listed(partner_client, "/api/v1/products/A/bought-together/?k=2&brand=Small")

    assert listed == [("Q", "bought_together"), ("Z", "trending")]


def test_a_k_above_the_30_kept_partners_is_filled_from_the_next_tiers(partner_client):
    """As the README says: 32 real partners, k=32 gives the 30 best, then the tiers after."""
    product(sku="A", title="Anchor")
    for n in range(32):
        product(sku=f"P{n:02}", title=f"Partner {n}")
    _record([(["A", f"P{n:02}"], 1 + (n < 30)) for n in range(32)])

    listed = _listed(partner_client, "/api/v1/products/A/bought-together/?k=32")

    assert {sku for sku, tier in listed if tier == "bought_together"} == {
        f"P{n:02}" for n in range(30)
    }
    assert [tier for _, tier in listed[30:]] == ["trending", "trending"]


def test_trending_filled_by_the_newest_products_does_not_call_them_a_categorys(partner_client):
    product(sku="A", title="Anything")

    response = partner_client.get("/api/v1/trending/?k=1&explain=true")

    assert response.json()["results"][0]["explain"]["why"] == WHY_NEWEST_ANYWHERE
