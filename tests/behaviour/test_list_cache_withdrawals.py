"""A product withdrawn (active → inactive) or deleted leaves every cached behaviour list at once:
bought together, also viewed, trending and a visitor's recommendations are cached under the
similar lists' serving generation, which the withdrawal bumps once it commits."""

import json

import pytest

from behaviour.models import ItemAssociation, ProductPopularity
from catalog.models import Product
from tests.catalog.factories import product

from .factories import bought_together, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> dict[str, Product]:
    """S00 goes with S01, S02, S03 (bought together and also viewed, in that order); trending
    ranks S01, S02, ... first."""
    made = {f"S{i:02}": product(sku=f"S{i:02}", title=f"Lamp {i}") for i in range(12)}
    for rank, partner in enumerate(["S01", "S02", "S03"]):
        bought_together("S00", partner, score=10 - rank)
        ItemAssociation.objects.create(
            kind=ItemAssociation.Kind.ALSO_VIEWED,
            product=made["S00"],
            other=made[partner],
            score=10 - rank,
            support=5,
            recent=5,
        )
    for rank, sku in enumerate(["S01", "S02", "S03", "S04", "S05"]):
        ProductPopularity.objects.create(product=made[sku], score=100 - rank, purchases=3)
    return made


def withdraw(partner_client, sku: str) -> None:
    body = {"title": f"Lamp {sku}", "price": "9.90", "active": False}
    response = partner_client.put(
        f"/api/v1/products/{sku}/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


URLS = [
    "/api/v1/products/S00/bought-together/?k=3",
    "/api/v1/products/S00/also-viewed/?k=3",
    "/api/v1/trending/?k=3",
    "/api/v1/visitors/bob/recommendations/?k=3",
]


@pytest.mark.parametrize("url", URLS)
def test_a_withdrawn_product_leaves_a_cached_behaviour_list_at_once(
    partner_client, shop, url, django_capture_on_commit_callbacks
):
    partner_client.post(
        "/api/v1/events/", {"events": [event("S11", "bob")]}, content_type="application/json"
    )
    first, cached = partner_client.get(url), partner_client.get(url)
    assert (skus(first)[0], cached["X-Cache"]) == ("S01", "hit")

    with django_capture_on_commit_callbacks(execute=True):
        withdraw(partner_client, "S01")
    fresh = partner_client.get(url)

    assert fresh["X-Cache"] == "miss"
    assert skus(fresh)[:2] == ["S02", "S03"] and "S01" not in skus(fresh)


@pytest.mark.parametrize("url", URLS[:3])
def test_a_deleted_product_leaves_a_cached_behaviour_list_at_once(
    partner_client, shop, url, django_capture_on_commit_callbacks
):
    assert skus(partner_client.get(url))[0] == "S01"

    with django_capture_on_commit_callbacks(execute=True):
        assert partner_client.delete("/api/v1/products/S01/").status_code == 204
    fresh = partner_client.get(url)

    assert fresh["X-Cache"] == "miss"
    assert skus(fresh)[:2] == ["S02", "S03"]
