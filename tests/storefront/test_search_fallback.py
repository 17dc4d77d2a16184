"""The storefront's search with a lexical index: a query the index has no terms for (another
script, a symbol) falls back to word matching instead of finding nothing, and a product whose
SKU is the query comes first."""

import pytest

from similarity.services.lexical import lexical_index_rebuild
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def models_root(settings, tmp_path):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"


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
