"""A product selling out leaves the cached lists of products in stock at once (the API's
`in_stock=true`, or every list under PRODSIM_EXCLUDE_OUT_OF_STOCK), by any door; the lists that
show out-of-stock products anyway keep their entries."""

import json

import pytest
from django.urls import reverse

from catalog.models import ImportJob, Product
from catalog.services import import_job_create, import_job_run
from core import generations
from similarity import cache as similar_cache
from tests.catalog.factories import csv_bytes, write

from .factories import vector_catalogue

pytestmark = pytest.mark.django_db

SIMILAR = "/api/v1/products/P001/similar/?k=5"
IN_STOCK = f"{SIMILAR}&in_stock=true"


@pytest.fixture
def catalogue() -> list[Product]:
    return vector_catalogue()[0]


@pytest.fixture
def stock_bumps(monkeypatch) -> list[str]:
    """One entry per bump of the stock generation."""
    bumps: list[str] = []
    real_bump = generations.bump

    def counted(key: str, **kwargs) -> None:
        if key == similar_cache.STOCK_KEY:
            bumps.append(key)
        real_bump(key, **kwargs)

    monkeypatch.setattr(generations, "bump", counted)
    return bumps


def put(partner_client, product: Product, *, in_stock: bool, price: str = "") -> None:
    body = {
        "title": product.title,
        "price": price or str(product.price),
        "category": product.category.path,
        "group_id": product.group_id,
        "in_stock": in_stock,
    }
    response = partner_client.put(
        f"/api/v1/products/{product.sku}/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content


def listed(partner_client, url: str) -> tuple[list[str], str]:
    response = partner_client.get(url)
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]], response["X-Cache"]


def test_a_sold_out_product_leaves_the_in_stock_lists_and_only_them(
    partner_client, catalogue, django_capture_on_commit_callbacks
):
    in_stock, _ = listed(partner_client, IN_STOCK)
    everything, _ = listed(partner_client, SIMILAR)
    assert listed(partner_client, IN_STOCK)[1] == listed(partner_client, SIMILAR)[1] == "hit"
    sold_out = Product.objects.get(sku=in_stock[0])

    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, sold_out, in_stock=False)

    fresh, cache_state = listed(partner_client, IN_STOCK)
    assert cache_state == "miss" and sold_out.sku not in fresh and len(fresh) == 5
    assert listed(partner_client, SIMILAR) == (everything, "hit")  # out-of-stock shown anyway


def test_with_out_of_stock_excluded_shop_wide_every_list_drops_it(
    partner_client, catalogue, settings, django_capture_on_commit_callbacks
):
    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = True
    first, _ = listed(partner_client, SIMILAR)
    assert listed(partner_client, SIMILAR)[1] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, Product.objects.get(sku=first[0]), in_stock=False)

    fresh, cache_state = listed(partner_client, SIMILAR)
    assert cache_state == "miss" and first[0] not in fresh


def test_only_the_write_that_sells_a_product_out_bumps_and_an_import_bumps_once(
    partner_client, catalogue, tmp_path, stock_bumps, django_capture_on_commit_callbacks
):
    product = catalogue[3]
    with django_capture_on_commit_callbacks(execute=True):
        put(partner_client, product, in_stock=False)
        put(partner_client, product, in_stock=False, price="99.00")  # still sold out
        put(partner_client, product, in_stock=True)  # back in stock: shows within the hour
    assert len(stock_bumps) == 1

    rows = [
        {"sku": p.sku, "title": p.title, "price": "10", "in_stock": "false"} for p in catalogue[5:8]
    ]
    header = ["sku", "title", "price", "in_stock"]
    job = import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, header)), enqueue=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_run(job_id=job.pk)

    assert (job.state, job.updated_count) == (ImportJob.State.SUCCEEDED, 3)
    assert len(stock_bumps) == 2  # one for the import's three


def test_a_product_sold_out_in_the_admin_leaves_the_in_stock_lists(
    admin_client, partner_client, catalogue, stock_bumps, django_capture_on_commit_callbacks
):
    first, _ = listed(partner_client, IN_STOCK)
    product = Product.objects.get(sku=first[0])
    url = reverse("admin:catalog_product_change", args=[product.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.pop("in_stock")  # an unticked box is left out of the post
    data |= {"category": product.category_id, "tags": "", "attributes": "{}"}
    data |= {f"images-{name}_FORMS": "0" for name in ("TOTAL", "INITIAL", "MIN_NUM")}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data | {"images-MAX_NUM_FORMS": "1000"})

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert stock_bumps == [similar_cache.STOCK_KEY]
    assert first[0] not in listed(partner_client, IN_STOCK)[0]
