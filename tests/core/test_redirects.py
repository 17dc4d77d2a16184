"""A write sent to a URL without its slash, or over plain http behind a TLS proxy, is redirected
with a 308, which clients follow with the same method and body: Django's 301 made Python's
requests resend a PATCH without its body (a 200 that changed nothing) and Go's net/http a GET."""

import json

import pytest
from django.test import override_settings

from catalog.models import Product
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_without_the_slash_is_redirected_keeping_its_method(partner_client, method):
    product(sku="MUG-1")

    response = getattr(partner_client, method)(
        "/api/v1/products/MUG-1?x=1", json.dumps({"in_stock": False}), "application/json"
    )

    assert response.status_code == 308, response.status_code
    assert response["Location"] == "/api/v1/products/MUG-1/?x=1"


def test_a_patch_followed_to_the_slashed_url_changes_the_product(partner_client):
    """What a client does with the 308: the same PATCH, body and all, at its Location."""
    product(sku="MUG-1", in_stock=True)

    response = partner_client.patch(
        "/api/v1/products/MUG-1", json.dumps({"in_stock": False}), "application/json", follow=True
    )

    assert response.status_code == 200, response.content
    assert response.redirect_chain == [("/api/v1/products/MUG-1/", 308)]
    assert Product.objects.get(sku="MUG-1").in_stock is False


@override_settings(DEBUG=True)
def test_in_debug_a_write_without_the_slash_is_redirected_too(partner_client):
    """Django's own refuses it in DEBUG with a RuntimeError page."""
    product(sku="MUG-1")

    response = partner_client.post("/api/v1/products/MUG-1", {}, "application/json")

    assert response.status_code == 308


def test_a_read_without_the_slash_keeps_django_s_301(partner_client):
    product(sku="MUG-1")

    response = partner_client.get("/api/v1/products/MUG-1")

    assert (response.status_code, response["Location"]) == (301, "/api/v1/products/MUG-1/")


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_plain_http_write_is_sent_to_https_keeping_its_method(partner_client):
    response = partner_client.post("/api/v1/events/?a=1", "[]", "application/json")

    assert response.status_code == 308, response.status_code
    assert response["Location"] == "https://testserver/api/v1/events/?a=1"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_plain_http_read_is_sent_to_https_with_django_s_301(partner_client):
    response = partner_client.get("/api/v1/products/")

    assert (response.status_code, response["Location"]) == (
        301,
        "https://testserver/api/v1/products/",
    )


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^api/"])
def test_the_https_redirect_of_a_write_keeps_django_s_exemptions(partner_client):
    response = partner_client.post("/api/v1/events/", "[]", "application/json")

    assert response.status_code != 308
