"""Valkey or PostgreSQL out of reach: a clear 503 in each door's shape, never a 500 page."""

import json
import socket

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError

from partners.models import PartnerApiKey
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def valkey_down(settings, client):
    from partners import keys

    keys._verified.clear()  # a key verified before would skip Valkey
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache_backend.PooledClientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/1",
        }
    }
    client.raise_request_exception = False
    return client


def test_the_api_answers_503_in_its_shape_while_valkey_is_down(valkey_down):
    product(sku="A")
    _, key = PartnerApiKey.objects.create_key(name="shop", scope="write")

    response = valkey_down.get("/api/v1/products/A/", HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert response.status_code == 503
    assert response.json()["code"] == "unavailable" and set(response.json()) == {
        "code",
        "message",
        "errors",
    }
    assert int(response["Retry-After"]) > 0


def test_signing_in_pauses_while_the_failure_count_is_out_of_reach(valkey_down):
    User.objects.create_superuser("admin", "a@example.com", "pw-long-enough-1")
    credentials = {"username": "admin", "password": "pw-long-enough-1"}

    admin = valkey_down.post("/admin/login/", credentials)
    storefront = valkey_down.post("/account/sign-in/", credentials)

    assert admin.status_code == 503 and b"paused" in admin.content
    assert storefront.status_code == 503 and "paused" in storefront.content.decode()


def test_health_is_503_while_the_database_does_not_answer(client, monkeypatch):
    import prodsim_site.views as views

    class Down:
        def cursor(self):
            raise OperationalError("connection refused")

    assert client.head("/health/").status_code == 200  # probes use HEAD too
    monkeypatch.setattr(views, "connection", Down())
    response = client.get("/health/")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_an_api_500_outside_drf_is_json(client, settings):
    from django.test import RequestFactory

    from prodsim_site.views import server_failed

    response = server_failed(RequestFactory().get("/api/v1/anything/"))

    assert response.status_code == 500 and json.loads(response.content)["code"] == "error"
