"""Text search: lexical vectors in PostgreSQL plus the text tower's cross-modal candidates."""

import pytest

from catalog.models import Product
from similarity.selectors import search_products
from similarity.services.lexical import lexical_index_rebuild, product_texts_refresh
from tests.catalog.factories import add_product, product, shape_catalogue
from tests.similarity.factories import train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def sku_of(hits) -> list[str]:
    names = dict(Product.objects.values_list("pk", "sku"))
    return [names[hit.product_id] for hit in hits]


@pytest.fixture
def headphones():
    for sku, title, brand in [
        ("S4", "Sony WH-1000XM4 wireless headphones", "Sony"),
        ("S3", "Sony WH-1000XM3 wireless headphones", "Sony"),
        ("B7", "Bose QuietComfort 45 headphones", "Bose"),
        ("M1", "Striped ceramic mug", "Hearth"),
    ]:
        product(sku=sku, title=title, brand=brand)
    lexical_index_rebuild()


def test_model_numbers_and_names_rank_first(headphones):
    assert sku_of(search_products(query="wh1000xm4"))[0] == "S4"
    assert sku_of(search_products(query="sony xm3 headphones"))[0] == "S3"
    assert sku_of(search_products(query="mug")) == ["M1"]
    assert search_products(query="zebra") == []


def test_storefront_search_uses_the_ranking(client, headphones):
    page = client.get("/", {"q": "WH-1000XM3"})
    assert [p.sku for p in page.context["page"].object_list][0] == "S3"


def test_new_products_are_searchable_after_a_refresh(headphones):
    product(sku="J1", title="Jabra Elite 85h headphones", brand="Jabra")
    product_texts_refresh(product_ids=[Product.objects.get(sku="J1").pk])
    assert sku_of(search_products(query="jabra elite"))[0] == "J1"


def test_without_any_index_search_falls_back_to_word_matching(client):
    product(sku="A", title="Red mug")
    assert search_products(query="red") is None
    assert [p.sku for p in client.get("/", {"q": "red"}).context["page"].object_list] == ["A"]


def test_the_text_tower_finds_products_by_their_pictures():
    shape_catalogue(groups_per_shape=2, colours=3)
    train_tiny()
    lexical_index_rebuild()

    hits = search_products(query="qqqq")  # no word of any product

    assert 0 < len(hits) <= 48
    assert all(hit.lexical in (None, 0.0) and hit.visual is not None for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


@pytest.fixture
def lanterns():
    for sku, colour in [("L1", "brass"), ("L2", "black"), ("L3", "white"), ("L4", "copper")]:
        product(sku=sku, title=f"Garden lantern {colour}", brand="Glow")
    product(sku="M1", title="Striped ceramic mug", brand="Hearth")
    lexical_index_rebuild()


def test_a_shop_wide_block_holds_in_search_match_and_the_search_box(
    partner_client, client, lanterns
):
    from similarity.models import MerchandisingRule

    def api(path, **body) -> list[str]:
        if path == "match":
            answer = partner_client.post(
                "/api/v1/match/", {**body, "k": 3}, content_type="application/json"
            )
        else:
            answer = partner_client.get("/api/v1/search/text/", {**body, "k": 3})
        return [row["sku"] for row in answer.json()["results"]]

    first = sku_of(search_products(query="garden lantern", limit=3))
    blocked = Product.objects.get(sku=first[0])
    MerchandisingRule.objects.create(kind="block", target_product=blocked)
    # A rule scoped to one product's list stays on that list.
    MerchandisingRule.objects.create(
        kind="block", source_product=blocked, target_product=Product.objects.get(sku=first[1])
    )

    hits = sku_of(search_products(query="garden lantern", limit=3))
    assert blocked.sku not in hits and len(hits) == 3 and first[1] in hits
    for found in (api("text", q="garden lantern"), api("match", title="garden lantern")):
        assert blocked.sku not in found and len(found) == 3
    page = client.get("/", {"q": f"garden lantern {blocked.title.split()[-1]}"})
    assert blocked.sku not in [p.sku for p in page.context["page"].object_list]


def test_the_search_box_leaves_a_blocked_product_out_by_its_sku_and_by_plain_words(client):
    """Not only ranked search: the SKU typed whole, and word matching when nothing is indexed."""
    from similarity.models import MerchandisingRule

    blocked, kept = product(sku="L1", title="Garden lantern"), product(sku="L2", title="Lantern")
    MerchandisingRule.objects.create(kind="block", target_product=blocked)

    by_sku = client.get("/", {"q": "L1"}).context["page"].object_list
    by_words = client.get("/", {"q": "lantern"}).context["page"].object_list

    assert list(by_sku) == [] and [p.sku for p in by_words] == [kept.sku]


def test_search_keeps_its_limit_right_after_a_withdrawal(partner_client, lanterns):
    first = sku_of(search_products(query="garden lantern", limit=3))
    # Withdrawn as the listener leaves it: the product's lexical vector is still stored.
    Product.objects.filter(sku=first[0]).update(is_active=False)

    hits = sku_of(search_products(query="garden lantern", limit=3))
    answer = partner_client.get("/api/v1/search/text/", {"q": "garden lantern", "k": 3}).json()

    assert first[0] not in hits and len(hits) == 3
    assert answer["k_returned"] == 3 and first[0] not in [r["sku"] for r in answer["results"]]


def test_a_search_in_a_category_ranks_that_categorys_products_among_themselves(client):
    """Ranked shop-wide and then filtered, a category's best match below half of the best hit
    elsewhere fell under the relevance floor: the category's search found nothing."""
    add_product("S4", "Sony WH-1000XM4 wireless noise cancelling headphones", category="Audio")
    add_product("K1", "Kids headphones", category="Toys > Audio")
    lexical_index_rebuild()
    query = "sony wh-1000xm4 wireless noise cancelling headphones"

    shop_wide = sku_of(search_products(query=query))
    in_toys = sku_of(search_products(query=query, category_path="Toys"))
    page = client.get("/", {"q": query, "category": "toys"})

    assert shop_wide == ["S4"]  # the kids' pair is below the floor shop-wide
    assert in_toys == ["K1"]
    assert [p.sku for p in page.context["page"].object_list] == ["K1"]
