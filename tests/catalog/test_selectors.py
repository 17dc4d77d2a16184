"""The hot-path product reads (plain SQL, instances by catalog/rows.py) match the ORM's."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.models import Category, Product

from .factories import product

pytestmark = pytest.mark.django_db


@pytest.fixture
def mugs():
    home = Category.objects.create(name="Home", path="Home", slug="home")
    category = Category.objects.create(
        name="Mugs", parent=home, path="Home > Mugs", slug="home-mugs"
    )
    return category, product(
        sku="MUG-1",
        category=category,
        attributes={"colour": "red"},
        tags=["ceramic"],
        price=Decimal("12.50"),
        group_id="g1",
    )


def test_product_get_reads_the_product_and_its_category_in_one_query(mugs):
    category, stored = mugs
    with CaptureQueriesContext(connection) as queries:
        found = selectors.product_get(sku="MUG-1", with_images=False)
        path, parent_id = found.category.path, found.category.parent_id
    assert len(queries) == 1
    assert found == stored
    assert (path, parent_id, found.category.slug) == (
        "Home > Mugs",
        category.parent_id,
        "home-mugs",
    )
    # Field converters ran: JSON decoded, Decimal kept, arrays as lists.
    assert (found.attributes, found.price, found.tags) == (
        {"colour": "red"},
        Decimal("12.50"),
        ["ceramic"],
    )
    assert found.category == category and not found._state.adding


def test_product_get_without_category_or_inactive(mugs):
    product(sku="LOOSE")
    product(sku="GONE", is_active=False)
    assert selectors.product_get(sku="LOOSE").category is None
    assert selectors.product_get(sku="GONE") is None
    assert selectors.product_get(sku="NOPE") is None


def test_products_by_ids_returns_active_products_with_converted_fields(mugs):
    _, stored = mugs
    hidden = product(sku="GONE", is_active=False)
    found = selectors.products_by_ids(ids=[stored.pk, hidden.pk, 10**9])
    assert list(found) == [stored.pk]
    assert found[stored.pk].attributes == {"colour": "red"}
    assert found[stored.pk].primary == []  # the card's image list was prefetched (none here)
    assert isinstance(found[stored.pk], Product)


def test_product_ids_allowed_applies_every_filter_to_the_given_ids_only_in_one_query(mugs):
    category, mug = mugs
    other_mug = product(sku="MUG-2", category=category, brand="Hearth", price=Decimal("30"))
    cheap = product(sku="MUG-3", category=category, brand="hearth", price=Decimal("5"))
    gone = product(sku="MUG-4", category=category, brand="Hearth", is_active=False)
    kettle = product(sku="KET-1", brand="Hearth", price=Decimal("25"))
    good = product(sku="MUG-6", category=category, brand="HEARTH", price=Decimal("15"))
    not_asked = product(sku="MUG-5", category=category, brand="Hearth")
    ids = {mug.pk, other_mug.pk, cheap.pk, gone.pk, kettle.pk, good.pk, 10**9}

    with CaptureQueriesContext(connection) as queries:
        everything = selectors.product_ids_allowed(
            ids=ids, product_filter=selectors.ProductFilter()
        )
    narrowed = selectors.product_ids_allowed(
        ids=ids,
        product_filter=selectors.ProductFilter(
            category_paths=("Home",), brands=("HEARTH",), price_min=Decimal("10"),
            exclude_ids=(other_mug.pk,),
        ),
    )  # fmt: skip

    assert len(queries) == 1
    assert everything == {mug.pk, other_mug.pk, cheap.pk, kettle.pk, good.pk}
    # The mug has no brand, the cheap one is under 10, MUG-2 is excluded, the kettle elsewhere.
    assert narrowed == {good.pk}
    assert selectors.product_ids_allowed(
        ids=ids, product_filter=selectors.ProductFilter(brands=("hearth",))
    ) == {other_mug.pk, cheap.pk, kettle.pk, good.pk}
    assert not_asked.pk not in everything
    assert (
        selectors.product_ids_allowed(ids=set(), product_filter=selectors.ProductFilter()) == set()
    )
