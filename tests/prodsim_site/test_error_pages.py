"""The shop's own error pages (Django's bare ones had no way back into the shop), and the API's
errors in its JSON shape where no DRF view answered."""

import pytest
from django.test import Client

from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


def test_a_withdrawn_products_page_is_the_shops_not_found_page(client):
    add_product("OLD-1", "Retired mug", is_active=False)

    response = client.get("/products/OLD-1/")

    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="not-found"' in html and 'role="search"' in html  # the header: a way back


def test_an_unknown_api_path_answers_in_the_apis_shape(client):
    response = client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "no API endpoint at this path",
        "errors": {},
    }


def test_a_form_from_a_page_older_than_the_session_says_what_to_do():
    add_product("MUG-1", "Red mug")
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/basket/add/MUG-1/", {"quantity": "1"})

    assert response.status_code == 403
    assert 'id="form-expired"' in response.content.decode()


def test_a_failing_page_is_the_shops_error_page(client, monkeypatch):
    from storefront import views

    add_product("MUG-1", "Red mug")

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.selectors, "product_get", broken)
    client.raise_request_exception = False

    response = client.get("/products/MUG-1/")

    assert response.status_code == 500
    assert 'id="server-error"' in response.content.decode()


@pytest.mark.django_db(transaction=True)  # outside a transaction the pages read the generations
@pytest.mark.parametrize("path", ["/", "/?q=mug"])
def test_pages_while_valkey_is_out_of_reach_say_to_try_again_shortly(client, monkeypatch, path):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core import generations
    from core.api_errors import OUTAGE_RETRY_AFTER_S

    add_product("MUG-1", "Red mug")

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Valkey is down")

    monkeypatch.setattr(generations.cache, "get", unreachable)
    client.raise_request_exception = False

    response = client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == str(OUTAGE_RETRY_AFTER_S)
    assert 'id="unavailable"' in response.content.decode()
