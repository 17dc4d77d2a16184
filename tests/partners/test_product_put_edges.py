"""Edge cases of the partner catalogue API: a tampered cursor, a PUT body with a field prodsim
does not know, the list's filters, and one spelling per category and SKU."""

import base64
import json
import unicodedata
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart

from catalog.models import Category, Product
from tests.catalog.factories import image_bytes, product

pytestmark = pytest.mark.django_db

BOUNDARY = "BoUnDaRy"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture
def api(partner_client):
    partner_client.raise_request_exception = False  # a 500 must show as a 500, not raise
    return partner_client


def put_json(api, sku: str, body: dict):
    return api.put(f"/api/v1/products/{sku}/", json.dumps(body), content_type="application/json")


# --- Pagination ----------------------------------------------------------------------------------


@pytest.mark.parametrize("decoded", ["p=abc", "p=1.5", "p=", "o=5&p=x", "p=abc&r=1"])
def test_a_cursor_with_a_tampered_position_is_a_404_not_a_500(api, decoded):
    """The cursor is base64 of `o=…&r=…&p=…`; DRF checks o and r but filters `pk__lt=p` as given:
    a non-integer position raises ValueError inside QuerySet.filter (a 500 with a traceback)."""
    product(sku="A")
    cursor = base64.b64encode(decoded.encode()).decode()

    response = api.get("/api/v1/products/", {"cursor": cursor})

    assert response.status_code == 404, response.status_code
    assert response.json()["code"] == "not_found"


# --- PUT: a field prodsim does not know ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("stock", False), ("is_active", False), ("available", False)]
)
def test_put_refuses_a_field_it_does_not_know_rather_than_resetting_the_product(api, field, value):
    """PUT replaces the whole product and fills left-out fields with defaults (in_stock and
    active true). A feed spelling the flag its own way (`stock`, the model's `is_active`) is
    answered 200 and the sold-out / withdrawn product silently goes back on sale. PATCH refuses
    such a field with a 400 for exactly this reason (catalog/api/patches.py docstring)."""
    product(sku="M-1", in_stock=False, is_active=False)

    response = put_json(api, "M-1", {"title": "Mug", "price": "5", field: value})

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    stored = Product.objects.get(sku="M-1")
    assert (stored.in_stock, stored.is_active) == (False, False)


def test_a_put_body_may_repeat_its_own_sku_but_not_name_another(api):
    """A product read back and sent again carries its `sku`: the URL's is fine, another not."""
    same = put_json(api, "M-1", {"sku": "M-1", "title": "Mug", "price": "5"})
    other = put_json(api, "M-1", {"sku": "M-2", "title": "Mug", "price": "6"})

    assert same.status_code == 201, same.content
    assert other.status_code == 400
    assert list(other.json()["errors"]) == ["sku"]
    assert Product.objects.get(sku="M-1").price == 5
    assert not Product.objects.filter(sku="M-2").exists()


def test_a_form_put_names_its_fields_in_every_spelling_the_form_fields_read(api):
    """`tags[]`, `attributes.colour` and `attributes[size]` are their fields, not unknown ones."""
    fields = {
        "title": "Mug",
        "price": "5",
        "tags[]": ["red", "blue"],
        "attributes.colour": "red",
        "attributes[size]": "L",
        "images": SimpleUploadedFile("a.jpg", image_bytes()),
    }

    response = api.put(
        "/api/v1/products/M-1/", encode_multipart(BOUNDARY, fields), content_type=MULTIPART
    )

    assert response.status_code == 201, response.json()
    stored = Product.objects.get(sku="M-1")
    assert (stored.tags, stored.attributes) == (["red", "blue"], {"colour": "red", "size": "L"})
    assert stored.images.count() == 1


def test_a_form_put_refuses_a_photo_sent_under_a_name_it_does_not_read(api):
    """`image=@photo.jpg` (singular) is answered 201 with no image: the file is dropped."""
    fields = {"title": "Mug", "price": "5", "image": SimpleUploadedFile("a.jpg", image_bytes())}

    response = api.put(
        "/api/v1/products/M-1/", encode_multipart(BOUNDARY, fields), content_type=MULTIPART
    )

    assert response.status_code == 400, (response.status_code, response.json())
    assert list(response.json()["errors"]) == ["image"]


@pytest.mark.parametrize(
    "key", ["in_stock[]", "in_stock.x", "active[0]", "brand[]", "attributes[size][w]", "tags.x"]
)
def test_a_form_put_refuses_a_spelling_no_field_reads(api, key):
    """`in_stock[]=false` used to pass the check (cut at its bracket) while the flag read only
    `in_stock`: the product was stored in stock. Only lists take `[]` and dicts `.key`/`[key]`."""
    product(sku="M-1", in_stock=False, attributes={"size": "S"})
    fields = {"title": "Mug", "price": "5", key: "false"}

    response = api.put(
        "/api/v1/products/M-1/", encode_multipart(BOUNDARY, fields), content_type=MULTIPART
    )

    assert response.status_code == 400, (response.status_code, response.json())
    assert list(response.json()["errors"]) == [key]
    stored = Product.objects.get(sku="M-1")
    assert (stored.in_stock, stored.attributes) == (False, {"size": "S"})


# --- The product list's filters ------------------------------------------------------------------


def test_the_list_q_finds_a_product_by_a_tag_written_with_capitals(api):
    """Tags keep the case they were written with (catalog/selectors/filters.py _LowerTags), but
    the list's `q` compares `tags @> [word.lower()]`: a product tagged "Vintage" is found by
    neither q=vintage nor q=Vintage."""
    put_json(api, "LAMP-1", {"title": "Desk lamp", "price": "20", "tags": ["Vintage"]})

    for word in ("vintage", "Vintage"):
        found = api.get("/api/v1/products/", {"q": word}).json()["results"]
        assert [item["sku"] for item in found] == ["LAMP-1"], word


def test_the_list_category_filter_takes_the_path_the_api_answers_with(api):
    """Products answer their category as a path ("Home > Mugs"); no response ever gives its
    slug. The list's `category` takes only a slug, so the value a partner reads back is a 404
    (the similar, trending and recommendation endpoints take a path or a slug)."""
    created = put_json(api, "M-1", {"title": "Mug", "price": "5", "category": "Home > Mugs"})
    path = created.json()["category"]

    response = api.get("/api/v1/products/", {"category": path})

    assert response.status_code == 200, response.content
    assert [item["sku"] for item in response.json()["results"]] == ["M-1"]


# --- Category paths and SKUs: one spelling, one thing --------------------------------------------


def test_a_category_typed_decomposed_is_the_same_category_as_typed_composed(api):
    """SKUs are stored NFC so a macOS export (decomposed accents) and another system name one
    product; category paths are not: "Home > Café" twice, as two categories (slugs home-cafe
    and home-cafe-2) that look identical, and the list filtered by one misses the other's."""
    put_json(api, "A", {"title": "Cup", "price": "5", "category": "Home > Caf\u00e9"})
    put_json(api, "B", {"title": "Cup", "price": "5", "category": "Home > Cafe\u0301"})

    assert Category.objects.filter(path__startswith="Home > ").count() == 1
    stored = Category.objects.values_list("path", flat=True)
    assert all(unicodedata.normalize("NFC", path) == path for path in stored)


@pytest.mark.parametrize("sku", ["A\x07B", "A\x1bB", "A\x7fB", "A\u0085B"])
def test_put_refuses_a_sku_holding_an_invisible_control_character(api, sku):
    """catalog/skus.py refuses invisible format characters (Cf) because "it would look like
    another SKU but name another product"; control characters (Cc) are just as invisible and
    are stored: "A\\x07B" is shown as "AB" and is another product than AB."""
    from urllib.parse import quote

    response = api.put(
        f"/api/v1/products/{quote(sku, safe='')}/",
        json.dumps({"title": "Mug", "price": "5"}),
        content_type="application/json",
    )

    assert response.status_code == 400, response.status_code
    assert list(response.json()["errors"]) == ["sku"]
    assert not Product.objects.exists()


# --- The OpenAPI schema's promises ---------------------------------------------------------------


def test_the_schema_describes_put_images_as_files_not_uris(api):
    """docs/openapi.yaml gives ProductInput.images as `{type: string, format: uri}` for both the
    JSON and the multipart body: a client generated from it sends image URLs, which the endpoint
    refuses ("The submitted data was not a file")."""
    schema = yaml.safe_load(OPENAPI.read_text())
    body = schema["paths"]["/api/v1/products/{sku}/"]["put"]["requestBody"]["content"]
    name = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    images = schema["components"]["schemas"][name]["properties"]["images"]
    as_documented = put_json(
        api, "M-1", {"title": "Mug", "price": "5", "images": ["https://shop.example/a.jpg"]}
    )

    assert as_documented.status_code == 400  # what the endpoint does, rightly: files only
    assert images["items"].get("format") == "binary", images["items"]


def test_a_withdrawal_s_answer_says_the_product_is_withdrawn(api):
    """A PATCH or PUT may withdraw a product (`active: false`); its answer looked exactly like an
    active product's, and the next GET is a 404: a feed could not confirm its withdrawals."""
    product(sku="A")

    withdrawn = api.patch("/api/v1/products/A/", {"active": False}, "application/json")
    back = api.patch("/api/v1/products/A/", {"active": True}, "application/json")

    assert withdrawn.status_code == 200, withdrawn.content
    assert (withdrawn.json()["active"], back.json()["active"]) == (False, True)
