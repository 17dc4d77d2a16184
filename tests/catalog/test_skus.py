"""One SKU through every catalogue door: the rules (catalog/skus.py), the CSV import, the model's
validator, the API's PUT, and the lookups that find a product by SKU (NFC or as stored)."""

import unicodedata

import pytest
from django.core.exceptions import ValidationError

from catalog import selectors
from catalog.models import Product
from catalog.services import import_job_create, import_job_run
from catalog.skus import (
    ERROR_SKU_DOTS,
    ERROR_SKU_FORMAT_CHARACTER,
    ERROR_SKU_REQUIRED,
    ERROR_SKU_SLASH,
    ERROR_SKU_SPACES,
    ERROR_SKU_TOO_LONG,
    sku_problem,
    validate_sku,
)

from .factories import product, write

pytestmark = pytest.mark.django_db

NFC = "CAF\u00c9-1"
NFD = unicodedata.normalize("NFD", NFC)
ZERO_WIDTH = "MUG-1\u200b"
INNER_BOM = "\ufeffMUG-1"

RULES = [
    ("MUG-42", None),
    ("caf\u00e9 mug #1", None),
    ("...", None),  # only "." and ".." are dot segments
    ("\U0001f469\u200d\U0001f4bb-1", None),  # a joiner is how an emoji sequence is written
    ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", None),  # and Persian words
    ("", ERROR_SKU_REQUIRED),
    ("S" * 65, ERROR_SKU_TOO_LONG),
    (" M-1", ERROR_SKU_SPACES),
    ("M-1 ", ERROR_SKU_SPACES),
    ("M-1\xa0", ERROR_SKU_SPACES),
    ("AB/12", ERROR_SKU_SLASH),
    (".", ERROR_SKU_DOTS),
    ("..", ERROR_SKU_DOTS),
    (ZERO_WIDTH, ERROR_SKU_FORMAT_CHARACTER.format(sku="'MUG-1\\u200b'")),
    (INNER_BOM, ERROR_SKU_FORMAT_CHARACTER.format(sku="'\\ufeffMUG-1'")),
]


@pytest.mark.parametrize(("sku", "problem"), RULES)
def test_sku_problem_names_the_first_rule_broken(sku, problem):
    assert sku_problem(sku) == problem


@pytest.mark.parametrize(("sku", "problem"), [rule for rule in RULES if rule[1]])
def test_the_model_validator_refuses_what_sku_problem_does(sku, problem):
    with pytest.raises(ValidationError) as raised:
        validate_sku(sku)
    assert raised.value.messages == [problem]


# --- The CSV import: NFC is stored, and the rules cost only their row ---------------------------


def run(tmp_path, rows: list[str]):
    data = "sku,title,price\r\n" + "".join(f"{row}\r\n" for row in rows)
    path = write(tmp_path / "in" / "catalogue.csv", data.encode())
    return import_job_run(job_id=import_job_create(csv_file=path, enqueue=False).pk)


def problems(job) -> list[tuple]:
    return list(job.row_errors.values_list("line", "column", "message"))


@pytest.mark.parametrize(
    ("sku", "problem"),
    [
        (".", ERROR_SKU_DOTS),
        ("..", ERROR_SKU_DOTS),
        (ZERO_WIDTH, ERROR_SKU_FORMAT_CHARACTER.format(sku=ascii(ZERO_WIDTH))),
        (INNER_BOM, ERROR_SKU_FORMAT_CHARACTER.format(sku=ascii(INNER_BOM))),
    ],
    ids=["dot", "dot dot", "zero-width space", "inner bom"],
)
def test_a_csv_sku_no_url_or_eye_can_tell_apart_costs_its_row(tmp_path, sku, problem):
    job = run(tmp_path, ["MUG-1,Mug,5", f"{sku},Other,6", "LAST,Last,7"])

    assert (job.state, problems(job)) == ("succeeded", [(3, "sku", problem)])
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["LAST", "MUG-1"]


def test_a_decomposed_csv_sku_is_stored_composed_and_its_twin_is_a_duplicate(tmp_path):
    job = run(tmp_path, [f"{NFD},One,5", f"{NFC},Two,6"])

    assert list(Product.objects.values_list("sku", "title")) == [(NFC, "One")]
    message = f"SKU {NFC!r} already appeared on line 2; this row is ignored"
    assert problems(job) == [(3, "sku", message)]


# --- The API's PUT: the same rules, NFC stored, a product stored otherwise kept -----------------


@pytest.fixture
def api(partner_client):
    partner_client.raise_request_exception = False
    return partner_client


def put(api, quoted: str):
    body = {"title": "Mug", "price": "5"}
    return api.put(f"/api/v1/products/{quoted}/", body, content_type="application/json")


@pytest.mark.parametrize(
    ("quoted", "problem"),
    [
        ("%20M-1", ERROR_SKU_SPACES),
        ("M-1%20", ERROR_SKU_SPACES),
        ("M-1%C2%A0", ERROR_SKU_SPACES),
        ("MUG-1%E2%80%8B", ERROR_SKU_FORMAT_CHARACTER.format(sku=ascii(ZERO_WIDTH))),
        # The test client, unlike a browser, sends dot segments as they are.
        ("..", ERROR_SKU_DOTS),
        (".", ERROR_SKU_DOTS),
    ],
    ids=["leading space", "trailing space", "trailing nbsp", "zero-width space", "..", "."],
)
def test_put_refuses_a_sku_other_doors_could_not_name(api, quoted, problem):
    response = put(api, quoted)

    assert (response.status_code, response.json()["errors"]) == (400, {"sku": [problem]})
    assert not Product.objects.exists()


def test_put_stores_a_decomposed_sku_composed_and_updates_it_by_either_form(api):
    created, updated = put(api, NFD), put(api, NFC)

    assert (created.status_code, created.json()["sku"]) == (201, NFC)
    assert (updated.status_code, updated.json()["sku"]) == (200, NFC)
    assert list(Product.objects.values_list("sku", flat=True)) == [NFC]


def test_put_and_delete_keep_to_a_product_stored_decomposed_before_normalising(api):
    product(sku=NFD)  # imported before SKUs were normalised: no data migration rewrote it

    assert (put(api, NFD).status_code, put(api, NFD).json()["sku"]) == (200, NFD)
    assert api.delete(f"/api/v1/products/{NFD}/").status_code == 204
    assert not Product.objects.exists()


# --- Lookups: the SKU as given, else its NFC form ----------------------------------------------


def test_lookups_find_a_composed_product_by_either_form(client, partner_client):
    stored = product(sku=NFC)

    assert selectors.product_get(sku=NFD).pk == stored.pk
    assert selectors.product_any(sku=NFD).pk == stored.pk
    assert selectors.product_ids_by_sku(skus=[NFD, NFC, "NONE"]) == {NFD: stored.pk, NFC: stored.pk}
    assert selectors.product_ids_for_skus(skus=[NFD, NFC]) == [stored.pk]
    assert client.get(f"/products/{NFD}/").status_code == 200
    assert partner_client.get(f"/api/v1/products/{NFD}/").json()["sku"] == NFC
    assert partner_client.delete(f"/api/v1/products/{NFD}/").status_code == 204


def test_a_product_stored_decomposed_is_found_by_its_exact_form_first():
    old, new = product(sku=NFD, title="Old"), product(sku=NFC, title="New")

    assert selectors.product_get(sku=NFD).pk == old.pk
    assert selectors.product_get(sku=NFC).pk == new.pk
    assert selectors.product_ids_by_sku(skus=[NFD, NFC]) == {NFD: old.pk, NFC: new.pk}


def test_a_product_stored_before_the_slash_rule_is_listed_by_migrate_and_breaks_no_page(client):
    """Earlier releases accepted "/" in a SKU; no URL can name such a product."""
    from django.core.management import call_command

    from catalog.checks import check_unlinkable_skus

    product(sku="FINE-1")
    Product.objects.filter(pk=product(sku="LEGACY-1").pk).update(sku="SLASH/001")

    warnings = check_unlinkable_skus(databases=["default"])
    page = client.get("/")

    assert [w.id for w in warnings] == ["prodsim.W010"]
    assert "'SLASH/001'" in warnings[0].msg and "FINE-1" not in warnings[0].msg
    assert check_unlinkable_skus(databases=None) == []  # database checks only when asked
    assert page.status_code == 200 and 'href="/?q=SLASH%2F001"' in page.content.decode()
    call_command("check", databases=["default"])  # a warning: it does not stop migrate


def test_reimporting_a_product_stored_decomposed_before_normalising_updates_it(tmp_path):
    """The API keeps such a product's spelling; a CSV re-import must reach it too, not add a
    composed twin."""
    old = product(sku=NFD, title="Old")
    path = write(tmp_path / "in" / "c.csv", f"sku,title,price\r\n{NFD},New,5\r\n".encode())

    job = import_job_run(job_id=import_job_create(csv_file=path, enqueue=False).pk)

    assert job.state == "succeeded"
    assert list(Product.objects.values_list("pk", "sku", "title")) == [(old.pk, NFD, "New")]


@pytest.mark.parametrize("sku", [".", "..", "SLASH/001"])
def test_a_sku_stored_before_its_rule_links_to_a_search_for_it(sku):
    """Browsers drop /products/../ and no route takes a "/": the link must not open another
    page (or fail)."""
    stored = product(sku="LEGACY")
    Product.objects.filter(pk=stored.pk).update(sku=sku)
    stored.refresh_from_db()

    assert stored.get_absolute_url().startswith("/?q=")


def test_the_api_still_writes_a_product_stored_before_the_rules_held(partner_client):
    """An earlier release stored 'M-1 ': a PUT (the API's only way to withdraw it) reaches it,
    while a new product with such a SKU is still refused."""
    stored = product(sku="LEGACY")
    Product.objects.filter(pk=stored.pk).update(sku="M-1 ")
    body = {"title": "Mug", "price": "5", "active": False}

    kept = partner_client.put("/api/v1/products/M-1%20/", body, content_type="application/json")
    new = partner_client.put("/api/v1/products/M-2%20/", body, content_type="application/json")

    assert kept.status_code == 200 and not Product.objects.get(pk=stored.pk).is_active
    assert new.status_code == 400 and new.json()["errors"] == {"sku": [ERROR_SKU_SPACES]}


def test_the_search_box_finds_a_sku_typed_decomposed(client):
    product(sku=NFC, title="Mug")

    found = client.get("/", {"q": NFD}).context["page"].object_list

    assert [p.sku for p in found] == [NFC]
