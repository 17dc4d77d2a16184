"""Partial product updates: PATCH /api/v1/products/{sku}/ changes only the fields given, and
PATCH /api/v1/products/ applies a feed's patches one by one, reporting each, announcing the
batch's changes once."""

import json
import threading
import unicodedata
from decimal import Decimal

import pytest

from catalog import changes
from catalog.api.patches import ERROR_NO_PRODUCT, MAX_PATCHES
from catalog.models import Category, Product
from catalog.services.patches import product_patch
from catalog.services.products import UpsertOutcome
from partners.models import PartnerApiKey

from .factories import product

pytestmark = pytest.mark.django_db

LIST = "/api/v1/products/"


def patch(client, url: str, body) -> tuple[int, dict]:
    response = client.patch(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json() if response.content else {}


@pytest.fixture
def mug() -> Product:
    lamps = Category.objects.create(name="Lamps", slug="lamps", path="Lamps")
    return product(
        sku="MUG-1",
        title="Red mug",
        description="Stoneware",
        brand="Acme",
        category=lamps,
        currency="USD",
        tags=["kitchen", "red"],
        attributes={"colour": "red"},
        group_id="MUG",
    )


@pytest.fixture
def announced(monkeypatch) -> dict[str, list[list[int]]]:
    calls: dict[str, list[list[int]]] = {"changed": [], "withdrawn": [], "sold_out": []}
    real = {name: getattr(changes, f"products_{name}") for name in calls}

    def spy(name):
        def recorded(*, product_ids, **kwargs):
            calls[name].append(sorted(product_ids))
            real[name](product_ids=product_ids, **kwargs)

        return recorded

    for name in calls:
        monkeypatch.setattr(changes, f"products_{name}", spy(name))
    return calls


def test_a_patch_changes_the_fields_given_and_keeps_every_other(partner_client, mug, announced):
    code, body = patch(partner_client, f"{LIST}MUG-1/", {"price": "7.50", "in_stock": False})

    assert code == 200, body
    mug.refresh_from_db()
    assert (mug.price, mug.in_stock) == (Decimal("7.50"), False)
    kept = (mug.title, mug.description, mug.brand, mug.category.path, mug.currency)
    assert kept == ("Red mug", "Stoneware", "Acme", "Lamps", "USD")  # not the default EUR
    assert (mug.tags, mug.attributes, mug.group_id, mug.is_active) == (
        ["kitchen", "red"],
        {"colour": "red"},
        "MUG",
        True,
    )
    assert (body["price"], body["in_stock"], body["currency"]) == ("7.50", False, "USD")
    assert announced == {"changed": [[mug.pk]], "withdrawn": [], "sold_out": [[mug.pk]]}


def test_a_patch_that_changes_nothing_announces_nothing(partner_client, mug, announced):
    code, _ = patch(partner_client, f"{LIST}MUG-1/", {"title": "Red mug", "in_stock": True})

    assert code == 200
    assert announced == {"changed": [], "withdrawn": [], "sold_out": []}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"stock": False}, "stock", "not a field a patch can change"),
        ({"price": "-1"}, "price", "greater than or equal to 0"),
        ({"category": "x" * 1001}, "category", "no more than 1000 characters"),
        ({"in_stock": "perhaps"}, "in_stock", "valid boolean"),
        ({"images": []}, "images", "not a field a patch can change"),
        ({"sku": "OTHER"}, "sku", "not a field a patch can change"),
        ({"currency": "ßA"}, "currency", "ISO 4217"),  # "ß".upper() is "SS"
        # The CSV and the admin separate tags with "|": such a tag split in two on an admin save.
        ({"tags": ["gift", "salt|pepper"]}, "tags", "a tag may not hold |"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field_and_writes_nothing(
    partner_client, mug, body, field, message
):
    before = Product.objects.values().get(pk=mug.pk)

    code, answer = patch(partner_client, f"{LIST}MUG-1/", {"title": "New", **body})

    assert code == 400 and field in answer["errors"], answer
    assert message in str(answer["errors"][field])  # a list's item: {index: [message]}
    assert Product.objects.values().get(pk=mug.pk) == before


def test_a_patch_never_creates_and_a_read_key_cannot_patch(partner_client, client, mug):
    code, answer = patch(partner_client, f"{LIST}NEW-1/", {"title": "New"})
    assert code == 404 and "NEW-1" in answer["message"], answer
    assert not Product.objects.filter(sku="NEW-1").exists()

    _, read_key = PartnerApiKey.objects.create_key(name="reader", scope="read")
    client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {read_key}"
    code, _ = patch(client, f"{LIST}MUG-1/", {"in_stock": False})
    assert code == 403
    mug.refresh_from_db()
    assert mug.in_stock is True


def test_a_patch_is_json_only(partner_client, mug):
    """A multipart body (what a PUT with images sends) is the API's usual 415, not a patch."""
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    body = encode_multipart(BOUNDARY, {"in_stock": "false"})
    response = partner_client.patch(f"{LIST}MUG-1/", body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_media_type"
    mug.refresh_from_db()
    assert mug.in_stock is True


def test_a_patch_normalises_as_a_put_does(partner_client, mug):
    decomposed = unicodedata.normalize("NFD", "CAFÉ-1")
    product(sku="CAFÉ-1", title="Café cup", tags=["old", "old"])  # stored composed
    body = {"currency": "gbp", "category": " Home >  Cups ", "tags": ["a", "b", "a"]}

    code, answer = patch(partner_client, f"{LIST}{decomposed}/", body)

    assert code == 200, answer
    cup = Product.objects.get(sku="CAFÉ-1")
    assert (cup.currency, cup.category.path, cup.tags) == ("GBP", "Home > Cups", ["a", "b"])
    code, _ = patch(partner_client, f"{LIST}MUG-1/", {"price": "1.00"})
    mug.refresh_from_db()
    assert mug.tags == ["kitchen", "red"]  # a patch without tags leaves them as stored


def test_a_batch_writes_each_valid_patch_and_reports_every_other(partner_client, mug, announced):
    cup = product(sku="CUP-1", title="Cup", in_stock=True)
    bowl = product(sku="BOWL-1", title="Bowl", is_active=True)
    body = {
        "products": [
            {"sku": "MUG-1", "in_stock": False, "price": "8.00"},
            {"sku": "GONE-1", "in_stock": False},
            {"sku": "CUP-1", "price": "-3"},
            {"sku": "BOWL-1", "active": False},
            {"sku": "MUG-1", "title": "Again"},
            {"in_stock": False},
            {"sku": 123, "in_stock": False},
            "not an object",
            {"sku": "CUP-1", "title": "Cup"},
        ]
    }

    code, answer = patch(partner_client, LIST, body)

    assert code == 200, answer
    statuses = [(entry["sku"], entry["status"]) for entry in answer["products"]]
    assert statuses == [
        ("MUG-1", "updated"),
        ("GONE-1", "failed"),
        ("CUP-1", "failed"),
        ("BOWL-1", "updated"),
        ("MUG-1", "failed"),
        ("", "failed"),
        ("", "failed"),
        ("", "failed"),
        ("CUP-1", "failed"),  # the same product as entry 2, even though that one failed
    ]
    errors = [entry.get("errors", {}) for entry in answer["products"]]
    assert errors[1] == {"sku": [ERROR_NO_PRODUCT]}
    assert "price" in errors[2] and "entry 0" in errors[4]["sku"][0]
    assert errors[5]["sku"][0].endswith("required") and "string" in errors[6]["sku"][0]
    assert (answer["updated"], answer["unchanged"], answer["failed"]) == (2, 0, 7)
    mug.refresh_from_db()
    cup.refresh_from_db()
    bowl.refresh_from_db()
    assert (mug.in_stock, mug.price, mug.title) == (False, Decimal("8.00"), "Red mug")
    assert (cup.price, bowl.is_active) == (Decimal("9.90"), False)
    # One announcement of each kind for the whole batch.
    assert announced == {
        "changed": [sorted([mug.pk, bowl.pk])],
        "withdrawn": [[bowl.pk]],
        "sold_out": [[mug.pk]],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"products": []},
        {"products": [{"sku": "MUG-1"}] * (MAX_PATCHES + 1)},
        {"products": {"sku": "MUG-1"}},
        ["MUG-1"],
        {},
        {"products": [{"sku": "MUG-1", "in_stock": False}], "dry_run": True},
    ],
    ids=["empty", "too many", "not a list", "not an object", "no products", "unknown key"],
)
def test_a_batch_of_the_wrong_shape_is_a_400_and_writes_nothing(partner_client, mug, body):
    code, answer = patch(partner_client, LIST, body)

    assert code == 400, answer
    if "dry_run" in body:
        assert "only `products`" in answer["errors"]["dry_run"][0]
    else:
        assert str(MAX_PATCHES) in answer["errors"]["products"][0]
    mug.refresh_from_db()
    assert mug.in_stock is True


def test_a_patch_keeps_what_another_writer_stored_before_it(mug):
    """The values merged are the row's as stored when the patch takes its lock."""
    Product.objects.filter(pk=mug.pk).update(title="Renamed elsewhere")

    result = product_patch(sku="MUG-1", values={"in_stock": False})

    mug.refresh_from_db()
    assert result.outcome == UpsertOutcome.UPDATED
    assert (mug.title, mug.in_stock) == ("Renamed elsewhere", False)


@pytest.mark.django_db(transaction=True)
def test_a_patch_waiting_for_another_writers_lock_merges_what_it_committed():
    """Another writer moves the product to another category and holds the row lock; the patch
    waits, then merges the committed category, not the one stored before (READ COMMITTED
    re-reads only the locked row: a joined category read with it would be the old one)."""
    from django.db import connection, transaction

    old = Category.objects.create(name="Old", slug="old", path="Old")
    new = Category.objects.create(name="New", slug="new", path="New")
    product(sku="MUG-1", category=old)
    locked, done = threading.Event(), threading.Event()

    def other_writer():
        try:
            with transaction.atomic():
                Product.objects.select_for_update().get(sku="MUG-1")
                Product.objects.filter(sku="MUG-1").update(category=new)
                locked.set()
                done.wait(timeout=0.5)  # the patch queues behind this lock meanwhile
        finally:
            connection.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert locked.wait(timeout=10)
    result = product_patch(sku="MUG-1", values={"in_stock": False})
    writer.join()

    mug = Product.objects.select_related("category").get(sku="MUG-1")
    assert result.outcome == UpsertOutcome.UPDATED
    assert (mug.category.path, mug.in_stock) == ("New", False)


def test_a_number_jsonb_cannot_store_is_a_400_not_a_500(partner_client, mug):
    body = '{"attributes": {"width": 1e400}}'  # reads as infinity

    response = partner_client.patch(f"{LIST}MUG-1/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert "finite" in response.json()["message"]
    mug.refresh_from_db()
    assert mug.attributes == {"colour": "red"}


def test_a_patch_the_database_refuses_fails_alone(partner_client, mug, monkeypatch, announced):
    """A value validation let through and PostgreSQL refused costs its own entry: the others
    are written and announced, and a resend is not stopped at it with a 500."""
    from django.db import DataError

    from catalog.services import patches

    cup = product(sku="CUP-1", title="Cup")
    real = patches.product_upsert

    def refusing(*, row, **kwargs):
        if row.sku == "MUG-1":
            raise DataError("invalid input syntax for type json")
        return real(row=row, **kwargs)

    monkeypatch.setattr(patches, "product_upsert", refusing)
    body = {"products": [{"sku": "MUG-1", "in_stock": False}, {"sku": "CUP-1", "in_stock": False}]}

    code, answer = patch(partner_client, LIST, body)

    assert code == 200, answer
    assert [entry["status"] for entry in answer["products"]] == ["failed", "updated"]
    assert "refused" in answer["products"][0]["errors"]["non_field_errors"][0]
    mug.refresh_from_db()
    cup.refresh_from_db()
    assert (mug.in_stock, cup.in_stock) == (True, False)
    assert announced["sold_out"] == [[cup.pk]]
