"""The storefront's search with a lexical index: a query the index has no terms for (another
script, a symbol) falls back to word matching instead of finding nothing, and a product whose
SKU is the query comes first, on either path."""

import pytest

from catalog.models import Product
from similarity.models import MerchandisingRule
from similarity.services.lexical import lexical_index_rebuild
from tests.catalog.factories import add_product, product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def skus(page) -> list[str]:
    return [item.sku for item in page.context["page"].object_list]


@pytest.mark.parametrize(("query", "expected"), [("φλιτζάνι", "G1"), ("日本茶", "J1"), ("★", "P1")])
def test_a_query_the_index_has_no_terms_for_is_matched_by_its_words(client, query, expected):
    product(sku="G1", title="Ελληνικό φλιτζάνι mug")
    product(sku="J1", title="日本茶 teapot")
    product(sku="P1", title="Rock'n'roll ★ poster")
    lexical_index_rebuild()

    assert skus(client.get("/", {"q": query})) == [expected]


def test_a_sku_finds_its_product_first(client):
    product(sku="XQ-7731", title="Red mug")
    product(sku="B-1", title="Blue mug")
    lexical_index_rebuild()

    assert skus(client.get("/", {"q": "XQ-7731"}))[:1] == ["XQ-7731"]


@pytest.mark.parametrize("indexed", [True, False], ids=["ranked", "word matching"])
def test_a_sku_holding_a_space_finds_its_product_first(client, indexed):
    product(sku="AB 123", title="Blue mug")
    product(sku="X-1", title="AB 123 holder")
    if indexed:
        lexical_index_rebuild()

    assert skus(client.get("/", {"q": "AB 123"})) == ["AB 123", "X-1"]


def test_a_sku_comes_first_and_once_when_words_are_matched(client):
    product(sku="MUG", title="Zebra cup")
    product(sku="B-1", title="Blue mug")

    assert skus(client.get("/", {"q": "MUG"})) == ["MUG", "B-1"]


def test_a_sku_is_not_found_outside_the_category_or_when_blocked(client):
    add_product("AB 1", "Blue mug")
    add_product("AB 2", "Shoe", category="Fashion > Shoes")
    MerchandisingRule.objects.create(kind="block", target_product=Product.objects.get(sku="AB 1"))

    assert skus(client.get("/", {"q": "AB 1"})) == []
    assert skus(client.get("/", {"q": "AB 2", "category": "home-kitchen"})) == []
