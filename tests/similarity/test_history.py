"""Recently viewed and recommended for you: from the session's history, never what was viewed."""

import re

import pytest

from similarity.selectors import recommended_for_history
from tests.catalog.factories import shape_catalogue

from .vector_store.factories import store, unit, version

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    products = {p.sku: p for p in shape_catalogue(colours=2)}  # 8 products, 4 groups
    v = version(2, status="active")
    vectors = {
        "SQUARE-0-0": unit(1, 0),
        "SQUARE-0-1": unit(0.98, 0.02),
        "BAR-0-0": unit(0.9, 0.1),
        "BAR-0-1": unit(0.7, -0.3),
        "CROSS-0-0": unit(0, 1),
        "CROSS-0-1": unit(0.05, 0.95),
        "FRAME-0-0": unit(-1, 0),
        "FRAME-0-1": unit(-0.9, -0.1),
    }
    store(v, [products[sku] for sku in vectors], list(vectors.values()))
    return products


def test_recommendations_follow_recent_views_and_exclude_them(catalogue):
    viewed = [catalogue["CROSS-0-0"].pk, catalogue["SQUARE-0-0"].pk]  # most recent first
    items = recommended_for_history(viewed_ids=viewed, k=3)
    skus = [item.product.sku for item in items]
    assert skus[0] == "CROSS-0-1"  # nearest to the most recent view, which weighs most
    assert not {"CROSS-0-0", "SQUARE-0-0"} & set(skus)
    assert {item.tier for item in items} == {"history"}


def test_pages_show_recently_viewed_and_recommended(client, catalogue):
    client.get("/products/SQUARE-0-0/")
    client.get("/products/CROSS-0-0/")

    home = client.get("/").content.decode()
    recent = home[home.index('id="recently-viewed"') :]
    assert recent.index("cross 0") < recent.index("square 0")  # most recent first
    recommended = home[home.index('id="recommended"') : home.index('id="recently-viewed"')]
    shown = re.sub(r'<span class="why"[^>]*>.*?</span>', "", recommended)  # "because you viewed …"
    assert "cross 1" in shown and "cross 0" not in shown
    assert "Because you viewed cross 0" in recommended

    page = client.get("/products/BAR-0-0/").content.decode()
    assert 'id="recently-viewed"' in page and 'id="recommended"' in page
    assert client.session["recently_viewed"][:3] == [
        catalogue["BAR-0-0"].pk,
        catalogue["CROSS-0-0"].pk,
        catalogue["SQUARE-0-0"].pk,
    ]


def test_a_new_visitor_sees_no_history_strips(client, catalogue):
    html = client.get("/").content.decode()
    assert 'id="recently-viewed"' not in html and 'id="recommended"' not in html
