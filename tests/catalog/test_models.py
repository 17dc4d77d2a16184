from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import ProductImage

from .factories import product

pytestmark = pytest.mark.django_db


def test_sku_is_unique():
    product(sku="A-1")
    with pytest.raises(IntegrityError, match="catalog_product_sku_key"):
        product(sku="A-1", title="Other")


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"price": Decimal("-0.01")}, "product_price_non_negative"),
        ({"sku": ""}, "product_sku_not_empty"),
        ({"currency": "eur"}, "product_currency_iso4217"),
    ],
)
def test_product_check_constraints(overrides, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        product(**overrides)


def _image(item, position, primary, sha):
    return ProductImage.objects.create(
        product=item,
        file=f"products/{sha}.jpg",
        sha256=sha,
        width=10,
        height=10,
        position=position,
        is_primary=primary,
    )


def test_one_primary_image_per_product():
    item = product()
    _image(item, 0, True, "a" * 64)
    with pytest.raises(IntegrityError, match="one_primary_image_per_product"), transaction.atomic():
        _image(item, 1, True, "b" * 64)
    assert _image(item, 1, False, "b" * 64).pk is not None


def test_image_positions_are_unique_per_product():
    item = product()
    _image(item, 0, True, "a" * 64)
    with pytest.raises(IntegrityError, match="image_position_unique_per_product"):
        _image(item, 0, False, "b" * 64)
