"""A product's attributes are a JSON object wherever they are written: every reader (the ranking,
the text index, the product page) takes them as name -> value. The admin's JSON field accepted
any JSON, and a list or a string made the product page and every similar list near it a 500."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from catalog.attribute_values import ERROR_ATTRIBUTES_OBJECT
from catalog.models import Product

from .factories import add_product, change_form, image_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [[1, 2], "just text", 42])
def test_the_admin_refuses_attributes_that_are_not_an_object(admin_client, value):
    add_product("MUG-1", "Red mug", image=image_bytes())
    product = Product.objects.get(sku="MUG-1")
    url = reverse("admin:catalog_product_change", args=[product.pk])

    response = admin_client.post(
        url, change_form(admin_client, product, attributes=json.dumps(value))
    )

    assert response.status_code == 200  # the form again, saying why
    assert response.context["adminform"].form.errors["attributes"] == [ERROR_ATTRIBUTES_OBJECT]
    assert Product.objects.get(pk=product.pk).attributes == product.attributes
    assert admin_client.get(f"/products/{product.sku}/").status_code == 200


def test_the_database_refuses_them_from_any_other_door():
    add_product("MUG-1", "Red mug")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(sku="MUG-1").update(attributes=["red"])
