"""A product withdrawn (active → inactive) or deleted leaves every cached similar list at once,
not only its own: whichever door took it off sale (the API, an import, the admin). A write that
leaves an inactive product inactive (a partner re-syncing) keeps the cache, and an import
drops it once however many products it withdrew."""

import json

import pytest
from django.urls import reverse

from catalog.models import ImportJob, Product
from catalog.services import import_job_create, import_job_run
from similarity import cache as similar_cache
from tests.catalog.factories import csv_bytes, write

from .factories import vector_catalogue

pytestmark = pytest.mark.django_db

SIMILAR = "/api/v1/products/P001/similar/?k=5"


@pytest.fixture
def catalogue() -> list[Product]:
    return vector_catalogue()[0]


@pytest.fixture
def resets(monkeypatch) -> list[int]:
    """One entry per bump of the serving generation (every cached list made unreachable)."""
    bumps: list[int] = []
    real_reset = similar_cache.reset

    def counted() -> None:
        bumps.append(1)
        real_reset()

    monkeypatch.setattr(similar_cache, "reset", counted)
    return bumps


def put(partner_client, product: Product, *, active: bool, price: str = "") -> None:
    body = {
        "title": product.title,
        "price": price or str(product.price),
        "category": product.category.path,
        "brand": product.brand,
        "group_id": product.group_id,
        "active": active,
    }
    response = partner_client.put(
        f"/api/v1/products/{product.sku}/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


def warm(partner_client) -> list[str]:
    """P001's similar list, cached (the second read is a hit)."""
    listed = skus(partner_client.get(SIMILAR))
    assert partner_client.get(SIMILAR)["X-Cache"] == "hit"
    return listed


def test_a_product_withdrawn_through_the_api_leaves_cached_lists_naming_it(
    partner_client, catalogue, django_capture_on_commit_callbacks
):
    listed = warm(partner_client)
    withdrawn = Product.objects.get(sku=listed[0])

    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, withdrawn, active=False)
    fresh = partner_client.get(SIMILAR)

    assert fresh["X-Cache"] == "miss"
    assert skus(fresh)[:4] == listed[1:] and withdrawn.sku not in skus(fresh)


def test_a_product_deleted_through_the_api_leaves_cached_lists_naming_it(
    partner_client, catalogue, django_capture_on_commit_callbacks
):
    listed = warm(partner_client)

    with django_capture_on_commit_callbacks(execute=True):
        assert partner_client.delete(f"/api/v1/products/{listed[0]}/").status_code == 204
    fresh = partner_client.get(SIMILAR)

    assert fresh["X-Cache"] == "miss"
    assert skus(fresh)[:4] == listed[1:]


def test_re_syncing_a_product_already_inactive_keeps_every_cached_list(
    partner_client, catalogue, resets, django_capture_on_commit_callbacks
):
    inactive = catalogue[40]
    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, inactive, active=False)
    assert resets == [1]
    warm(partner_client)

    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, inactive, active=False, price="99.00")  # still off sale
        put(partner_client, inactive, active=True)  # back on sale: shows within the hour

    assert resets == [1]
    assert partner_client.get(SIMILAR)["X-Cache"] == "hit"


def test_an_import_withdrawing_products_drops_the_cached_lists_once(
    partner_client, catalogue, resets, tmp_path, django_capture_on_commit_callbacks
):
    listed = warm(partner_client)
    rows = [
        {"sku": sku, "title": f"Withdrawn {sku}", "price": "10", "active": "false"}
        for sku in listed[:2]
    ]
    job = import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, ["sku", "title", "price", "active"])),
        enqueue=False,
    )

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_run(job_id=job.pk)

    assert (job.state, job.updated_count, resets) == (ImportJob.State.SUCCEEDED, 2, [1])
    fresh = partner_client.get(SIMILAR)
    assert fresh["X-Cache"] == "miss"
    assert set(listed[:2]).isdisjoint(skus(fresh))


def test_an_import_re_syncing_inactive_products_keeps_the_cached_lists(
    partner_client, catalogue, resets, tmp_path, django_capture_on_commit_callbacks
):
    Product.objects.filter(sku__in=["P040", "P041"]).update(is_active=False)
    warm(partner_client)
    rows = [{"sku": sku, "title": "Re-synced", "price": "10", "active": "no"} for sku in ("P040",)]
    job = import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, ["sku", "title", "price", "active"])),
        enqueue=False,
    )

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_run(job_id=job.pk)

    assert (job.updated_count, resets) == (1, [])
    assert partner_client.get(SIMILAR)["X-Cache"] == "hit"


def test_a_product_withdrawn_in_the_admin_leaves_cached_lists_naming_it(
    admin_client, partner_client, catalogue, resets, django_capture_on_commit_callbacks
):
    listed = warm(partner_client)
    withdrawn = Product.objects.get(sku=listed[0])
    url = reverse("admin:catalog_product_change", args=[withdrawn.pk])

    def saved(**changes) -> None:
        form = admin_client.get(url).context["adminform"].form
        data = {name: value for name, value in form.initial.items() if value is not None}
        data.pop("is_active")  # an unticked box is left out of the post
        data |= {"category": withdrawn.category_id, "tags": "", "attributes": "{}", **changes}
        data |= {f"images-{name}_FORMS": "0" for name in ("TOTAL", "INITIAL", "MIN_NUM")}
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, data | {"images-MAX_NUM_FORMS": "1000"})
        assert response.status_code == 302, response.context["adminform"].form.errors

    saved()
    assert not Product.objects.get(pk=withdrawn.pk).is_active
    fresh = partner_client.get(SIMILAR)
    assert (fresh["X-Cache"], skus(fresh)[:4]) == ("miss", listed[1:])
    assert partner_client.get(SIMILAR)["X-Cache"] == "hit"

    saved(title="Still withdrawn")

    assert resets == [1]
    assert partner_client.get(SIMILAR)["X-Cache"] == "hit"


def test_a_list_asked_for_by_a_decomposed_sku_goes_when_its_product_changes(
    partner_client, catalogue, django_capture_on_commit_callbacks
):
    """SKUs are stored composed (NFC) and changes bump the stored spelling's generation; a list
    asked for by the decomposed spelling hangs on that same generation."""
    import unicodedata

    Product.objects.filter(sku="P001").update(sku="CAFÉ-1")
    decomposed = unicodedata.normalize("NFD", "CAFÉ-1")
    url = f"/api/v1/products/{decomposed}/similar/?k=5&category=same"
    assert partner_client.get(url)["X-Cache"] == "miss"
    assert partner_client.get(url)["X-Cache"] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        response = partner_client.patch(
            f"/api/v1/products/{decomposed}/",
            json.dumps({"category": "Fashion > Hats"}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content

    assert partner_client.get(url)["X-Cache"] == "miss"
