"""The complements tier's content neighbours are looked up once per product page, however many
behaviour strips fill from them (bought together and also viewed both do for a new product)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from behaviour import selectors
from behaviour.selectors import neighbours as neighbours_module
from catalog.models import Product
from similarity.selectors import SimilarQuery
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def lookups(monkeypatch):
    calls = []
    original = neighbours_module.similar_products_for

    def counted(**kwargs):
        calls.append(kwargs["product"].sku)
        return original(**kwargs)

    monkeypatch.setattr(neighbours_module, "similar_products_for", counted)
    return calls


def test_two_lists_sharing_content_neighbours_look_them_up_once(lookups):
    add_product("A", "Striped mug", category="Home > Kitchen > Mugs")
    add_product("B", "Spotted mug", category="Home > Kitchen > Mugs")
    product = Product.objects.get(sku="A")
    query = SimilarQuery(k=4)

    neighbours = selectors.ContentNeighbours(product)
    selectors.bought_together(product=product, query=query, neighbours=neighbours)
    selectors.also_viewed(product=product, query=query, neighbours=neighbours)
    assert lookups == ["A"]

    selectors.bought_together(product=product, query=query)  # alone: its own lookup
    assert lookups == ["A", "A"]


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/products/A/").status_code == 200
    return len(queries)


def test_a_product_page_without_events_looks_its_neighbours_up_once(client, lookups, monkeypatch):
    for sku, title in (("A", "Striped mug"), ("B", "Spotted mug"), ("C", "Plain mug")):
        add_product(sku, title, category="Home > Kitchen > Mugs")
    page_queries(client)  # the session and the caches settle

    shared = page_queries(client)
    assert lookups[-1:] == ["A"] and len(lookups) == 2  # one lookup per page view
    # Side by side: each strip looking its neighbours up itself, as before.
    monkeypatch.setattr("storefront.widgets.behaviour_selectors.ContentNeighbours", lambda p: None)
    separate = page_queries(client)

    assert len(lookups) == 4  # two more: one per strip
    assert shared < separate
