"""The catalogue announces a withdrawal (catalog.changes.products_withdrawn) where a write takes
an active product off sale: never for a write that leaves a product inactive (a partner
re-syncing its inactive products), and once per import however many rows withdrew. An import
whose attempt was killed announces that attempt's withdrawals and sell-outs when it runs again
or ends unrun (the stock side's own announcements: tests/similarity/test_cache_stock.py)."""

from decimal import Decimal

import pytest

from catalog import changes
from catalog.importers import ProductRow
from catalog.models import Product
from catalog.services import import_job_create, import_job_run, imports, product_upsert

from .factories import Killed, csv_bytes, product, stops_after_rows, write

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "price", "active"]


@pytest.fixture
def withdrawn(monkeypatch) -> list[list[int]]:
    calls: list[list[int]] = []
    real = changes.products_withdrawn

    def spy(*, product_ids):
        calls.append(sorted(product_ids))
        real(product_ids=product_ids)

    monkeypatch.setattr(changes, "products_withdrawn", spy)
    return calls


def killed_at_the_second_row(job, monkeypatch) -> None:
    """Run the job's first attempt until its worker dies before the second row."""
    real_row = stops_after_rows(monkeypatch, Killed(), rows=1)
    with pytest.raises(Killed):
        import_job_run(job_id=job.pk)
    monkeypatch.setattr(imports, "_import_row", real_row)


def upsert(sku: str, *, active: bool, price: str = "9.90") -> int:
    row = ProductRow(
        line=0, sku=sku, title="Mug", price=Decimal(price), currency="EUR", is_active=active
    )
    return product_upsert(row=row, images=None).product_id


def test_only_the_write_that_takes_a_product_off_sale_announces_a_withdrawal(withdrawn):
    on_sale = upsert("MUG-1", active=True)
    upsert("MUG-2", active=False)  # created inactive: never on sale
    assert withdrawn == []

    assert upsert("MUG-1", active=False) == on_sale
    upsert("MUG-1", active=False, price="12.00")  # a re-sync while off sale
    upsert("MUG-1", active=True)  # back on sale

    assert withdrawn == [[on_sale]]


def test_an_import_announces_its_withdrawals_once_and_re_syncs_none(tmp_path, withdrawn):
    ids = [product(sku=sku).pk for sku in ("A", "B", "C")]
    Product.objects.filter(sku="C").update(is_active=False)
    rows = [{"sku": sku, "title": "Gone", "price": "9.90", "active": "false"} for sku in "ABC"]
    job = import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, HEADER)), enqueue=False
    )
    job = import_job_run(job_id=job.pk)
    assert (job.state, job.updated_count) == ("succeeded", 3)
    assert withdrawn == [ids[:2]]

    rows = [{"sku": sku, "title": "Still gone", "price": "9.90", "active": "no"} for sku in "ABC"]
    again = import_job_create(
        csv_file=write(tmp_path / "d.csv", csv_bytes(rows, HEADER)), enqueue=False
    )
    again = import_job_run(job_id=again.pk)

    assert (again.state, again.updated_count) == ("succeeded", 3)
    assert withdrawn == [ids[:2]]  # the re-sync announced nothing


# Each flip an import row can write, and the announcement it makes: (column, value, listener).
FLIPS = {
    "withdrawn": ("active", "false", "products_withdrawn"),
    "sold out": ("in_stock", "false", "products_sold_out"),
}


@pytest.fixture(params=FLIPS.values(), ids=FLIPS.keys())
def flip(request, monkeypatch) -> tuple[str, str, list[list[int]]]:
    """(column, value that flips a product, the announcements of that flip)."""
    column, value, listener = request.param
    calls: list[list[int]] = []
    real = getattr(changes, listener)

    def spy(*, product_ids):
        calls.append(sorted(product_ids))
        real(product_ids=product_ids)

    monkeypatch.setattr(changes, listener, spy)
    return column, value, calls


def flipping_job(tmp_path, flip, skus: str):
    column, value, _ = flip
    rows = [{"sku": sku, "title": "Gone", "price": "9.90", column: value} for sku in skus]
    header = ["sku", "title", "price", column]
    return import_job_create(
        csv_file=write(tmp_path / "c.csv", csv_bytes(rows, header)), enqueue=False
    )


def test_a_rerun_announces_what_its_killed_attempt_flipped(tmp_path, monkeypatch, flip):
    ids = [product(sku=sku).pk for sku in ("A", "B")]
    job = flipping_job(tmp_path, flip, "AB")
    killed_at_the_second_row(job, monkeypatch)
    announced = flip[2]
    announced.clear()  # a killed process announces nothing

    job = import_job_run(job_id=job.pk)  # A is unchanged to the rerun: only B flips now

    assert (job.state, job.attempts) == ("succeeded", 2)
    assert announced == [ids]


def test_an_import_given_up_after_a_killed_attempt_announces_what_it_flipped(
    tmp_path, monkeypatch, settings, flip
):
    settings.PRODSIM_IMPORT_MAX_ATTEMPTS = 1
    gone = product(sku="A").pk
    job = flipping_job(tmp_path, flip, "AB")
    killed_at_the_second_row(job, monkeypatch)
    announced = flip[2]
    announced.clear()

    job = import_job_run(job_id=job.pk)  # the reaper's delivery: past the bound, ends unrun

    assert (job.state, job.attempts) == ("failed", 2)
    assert announced == [[gone]]
