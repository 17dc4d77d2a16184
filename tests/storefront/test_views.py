import pytest
from django.test import Client
from django.urls import reverse

from behaviour.models import Event
from experiments.models import Impression
from tests.catalog.factories import add_product, image_bytes

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return [product.title for product in response.context["page"].object_list]


def test_listing_shows_active_products_in_title_order(client):
    add_product("B", "Blue mug")
    add_product("A", "Azure mug")
    add_product("X", "Hidden mug", is_active=False)

    response = client.get(reverse("storefront:product-list"))

    assert response.status_code == 200
    assert titles(response) == ["Azure mug", "Blue mug"]
    assert "2 products" in response.content.decode()


def test_category_filter_includes_subcategories(client):
    add_product("M", "Mug", category="Home > Kitchen > Mugs")
    add_product("P", "Plate", category="Home > Kitchen > Plates")
    add_product("S", "Sneaker", category="Fashion > Shoes")

    kitchen = client.get(reverse("storefront:product-list"), {"category": "home-kitchen"})
    mugs = client.get(reverse("storefront:product-list"), {"category": "home-kitchen-mugs"})

    assert titles(kitchen) == ["Mug", "Plate"]
    assert titles(mugs) == ["Mug"]
    assert client.get(reverse("storefront:product-list"), {"category": "nope"}).status_code == 404


def test_the_category_list_counts_what_each_category_page_lists_parents_included(client):
    add_product("M", "Mug", category="Home > Kitchen > Mugs")
    add_product("P", "Plate", category="Home > Kitchen > Plates")
    add_product("S", "Sneaker", category="Fashion > Shoes")
    add_product("X", "Retired plate", category="Home > Kitchen > Plates", is_active=False)

    listed = client.get(reverse("storefront:product-list")).context["categories"]

    counts = {category.path: category.product_count for category in listed}
    assert counts == {
        "Fashion": 1,
        "Fashion > Shoes": 1,
        "Home": 2,
        "Home > Kitchen": 2,
        "Home > Kitchen > Mugs": 1,
        "Home > Kitchen > Plates": 1,
    }
    for category in listed:  # each count is what its page lists
        page = client.get(reverse("storefront:product-list"), {"category": category.slug})
        assert len(titles(page)) == category.product_count, category.path


def test_search_matches_every_word_in_title_brand_or_tags(client):
    add_product("1", "Striped mug", brand="Hearth", tags=["ceramic"])
    add_product("2", "Striped plate", brand="Hearth", tags=["porcelain"])
    add_product("3", "Plain mug", brand="Nord", tags=["ceramic"])

    assert titles(client.get("/", {"q": "striped"})) == ["Striped mug", "Striped plate"]
    assert titles(client.get("/", {"q": "hearth ceramic"})) == ["Striped mug"]
    assert titles(client.get("/", {"q": "zebra"})) == []


def test_pagination_splits_at_24(client):
    for index in range(30):
        add_product(f"S{index:02}", f"Mug {index:02}")

    first = client.get("/")
    second = client.get("/", {"page": 2})

    assert titles(first) == [f"Mug {index:02}" for index in range(24)]
    assert titles(second) == [f"Mug {index:02}" for index in range(24, 30)]
    assert "Page 2 of 2" in second.content.decode()


def test_product_page_shows_details_and_similar_section(client):
    add_product(
        "MUG-1",
        "Red mug",
        brand="Hearth",
        description="A sturdy mug.",
        tags=["red"],
        attributes={"colour": "red"},
        in_stock=False,
        image=image_bytes(),
    )

    response = client.get(reverse("storefront:product-detail", kwargs={"sku": "MUG-1"}))
    html = response.content.decode()

    assert response.status_code == 200
    for text in [
        "<h1>Red mug</h1>",
        "Hearth",
        "9.90 EUR",
        "Out of stock",
        "A sturdy mug.",
        "<th>Colour</th><td>red</td>",
        'id="similar-items"',
        "Home &gt; Kitchen &gt; Mugs",
    ]:
        assert text in html
    assert client.get("/products/NOPE/").status_code == 404


def test_attributes_of_any_json_value_read_as_words(client):
    attributes = {
        "colours": ["red", "blue"],
        "dishwasher_safe": True,
        "note": None,
        "size": {"w": 10, "h": 5},
        "weight_g": 250.5,
    }
    add_product("MUG-2", "Mug", attributes=attributes)

    html = client.get("/products/MUG-2/").content.decode()

    for row in [
        "<th>Colours</th><td>red, blue</td>",
        "<th>Dishwasher safe</th><td>Yes</td>",
        "<th>Note</th><td>–</td>",
        "<th>Size</th><td>h: 5, w: 10</td>",
        "<th>Weight g</th><td>250.5</td>",
    ]:
        assert row in html


def test_an_attribute_named_like_a_dict_method_is_shown_as_an_attribute(client):
    # An import column attr_items is a valid attribute; the template must not call dict.items.
    add_product("PACK", "Tea lights pack", attributes={"items": "12", "colour": "white"})

    response = client.get("/products/PACK/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<th>Colour</th><td>white</td>" in html and "<th>Items</th><td>12</td>" in html


def test_a_product_page_that_fails_to_render_leaves_no_view_or_impressions(monkeypatch):
    add_product("MUG", "Mug")
    add_product("PACK", "Tea lights pack")
    client = Client(raise_request_exception=False)
    client.get("/products/MUG/")  # a history, so every strip has something to log
    Impression.objects.all().delete()
    Event.objects.all().delete()

    def broken_template(*args, **kwargs):
        raise RuntimeError("a template error")

    monkeypatch.setattr("storefront.views.render", broken_template)
    response = client.get("/products/PACK/")

    assert response.status_code == 500
    # The shopper saw nothing: nothing was shown, nor viewed.
    assert (Impression.objects.count(), Event.objects.count()) == (0, 0)


def test_product_images_are_served_with_type_and_nosniff(client):
    add_product("MUG-1", "Red mug", image=image_bytes())
    url = client.get("/products/MUG-1/").context["product"].images.all()[0].file.url

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    # SuspiciousFileOperation from the path join becomes a 400, before any file is opened.
    assert client.get("/media/products/../../etc/passwd").status_code == 400


def test_import_uploads_are_not_served(client, media_root):
    (media_root / "imports").mkdir()
    (media_root / "imports" / "c.csv").write_text("secret")
    assert client.get("/media/imports/c.csv").status_code == 404


def test_product_api_requires_a_key_then_lists(client, partner_client):
    add_product("MUG-1", "Red mug")
    client = partner_client
    body = client.get("/api/v1/products/").json()

    assert len(body["results"]) == 1 and body["next"] is None
    assert body["results"][0]["sku"] == "MUG-1"
    assert body["results"][0]["category"] == "Home > Kitchen > Mugs"
    assert client.get("/api/v1/products/MUG-1/").json()["price"] == "9.90"


def test_api_docs_and_schema_render_without_a_cdn(client):
    docs = client.get("/api/docs/").content.decode()
    assert "cdn." not in docs and "unpkg" not in docs
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/products/" in schema.content


def test_health(client):
    assert client.get("/health/").json() == {"status": "ok"}
