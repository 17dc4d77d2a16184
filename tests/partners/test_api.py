"""The partner API's contract: keys, scopes, throttling, caps, errors, writes, search."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Product
from partners.models import PartnerApiKey
from tests.catalog.factories import image_bytes, product

pytestmark = pytest.mark.django_db


def key_header(**fields) -> dict:
    _, key = PartnerApiKey.objects.create_key(name="p", **fields)
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ({}, 401),
        ({"HTTP_AUTHORIZATION": "Api-Key not.a-key"}, 401),
        ("revoked", 401),
        ("expired", 401),
        ("valid", 200),
    ],
)
def test_keys_are_required_valid_unrevoked_and_unexpired(client, header, status):
    product(sku="A")
    if header == "revoked":
        header = key_header(revoked=True)
    elif header == "expired":
        header = key_header(expiry_date=timezone.now() - dt.timedelta(minutes=1))
    elif header == "valid":
        header = key_header()
    response = client.get("/api/v1/products/A/", **header)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == "Api-Key"
        assert response.json()["message"] == (
            "Authentication credentials were not provided."
            if not header
            else "the API key is invalid, revoked or expired"
        )


def test_read_keys_cannot_write(client):
    response = client.put(
        "/api/v1/products/NEW/",
        {"title": "Mug", "price": "3"},
        content_type="application/json",
        **key_header(scope="read"),
    )
    assert response.status_code == 403
    assert response.json()["message"] == (
        "this API key is read-only; writes need a key with the write scope"
    )
    assert not Product.objects.exists()


def test_read_keys_may_post_queries_that_only_read(client):
    """Batch similar, match and photo search are POSTs because the query is large, not writes."""
    header = key_header(scope="read")
    batch = client.post(
        "/api/v1/similar/batch/", {"skus": ["NONE"]}, content_type="application/json", **header
    )
    assert batch.status_code == 200, batch.content
    assert batch.json()["results"] == {"NONE": None}
    match = client.post(
        "/api/v1/match/", {"title": "blue mug"}, content_type="application/json", **header
    )
    assert match.status_code != 403, match.content
    photo = client.post("/api/v1/search/image/", {}, **header)  # no photo: a 400, not a 403
    assert photo.status_code == 400, photo.content


def test_schema_docs_and_health_need_no_key(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/health/").status_code == 200


def test_throttling_answers_429(client, settings):
    from rest_framework.settings import api_settings

    from partners.api import PartnerKeyThrottle

    product(sku="A")
    header = key_header()
    PartnerKeyThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "partner": "3/min"}
    try:
        responses = [client.get("/api/v1/products/A/", **header) for _ in range(4)]
        spaced = header["HTTP_AUTHORIZATION"].replace(" ", "  ")  # the same key: its bucket
        responses.append(client.get("/api/v1/products/A/", HTTP_AUTHORIZATION=spaced))
    finally:
        PartnerKeyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert [response.status_code for response in responses] == [200, 200, 200, 429, 429]
    assert 0 < int(responses[-1]["Retry-After"]) <= 60  # until the key's window closes


def test_a_request_without_a_key_is_throttled_under_a_hash_of_its_address(rf):
    from partners.api import PartnerKeyThrottle

    def bucket(address: str) -> str:
        request = rf.get("/api/v1/products/", REMOTE_ADDR=address)
        request.auth = None  # no key: a staff member on the browsable API, say
        return PartnerKeyThrottle().get_cache_key(request, None)

    assert "192.0.2.9" not in bucket("192.0.2.9")
    assert bucket("192.0.2.9") != bucket("192.0.2.10")


def test_put_creates_then_updates_and_delete_removes(partner_client):
    body = {
        "title": "Red mug",
        "price": "9.90",
        "brand": "Hearth",
        "tags": ["red"],
        "attributes": {"colour": "red"},
        "category": "Home > Mugs",
    }
    created = partner_client.put("/api/v1/products/M-1/", body, content_type="application/json")
    updated = partner_client.put(
        "/api/v1/products/M-1/", {**body, "price": "11"}, content_type="application/json"
    )

    assert (created.status_code, updated.status_code) == (201, 200)
    assert (updated.json()["price"], updated.json()["category"]) == ("11.00", "Home > Mugs")
    assert partner_client.delete("/api/v1/products/M-1/").status_code == 204
    assert partner_client.delete("/api/v1/products/M-1/").status_code == 404
    assert not Product.objects.exists()


def test_put_with_images_validates_each_one(partner_client):
    good = SimpleUploadedFile("a.jpg", image_bytes(), "image/jpeg")
    bad = SimpleUploadedFile("b.jpg", b"not an image", "image/jpeg")
    response = partner_client.put(
        "/api/v1/products/M-1/",
        data=_multipart({"title": "Mug", "price": "5", "images": [good, bad]}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "images": {"1": ["b.jpg: the file is not a readable image"]}
    }
    assert not Product.objects.exists()

    good.seek(0)
    response = partner_client.put(
        "/api/v1/products/M-1/",
        data=_multipart({"title": "Mug", "price": "5", "images": [good]}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )
    assert response.status_code == 201
    assert len(response.json()["images"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "1"}, "title"),
        ({"title": "x", "price": "-1"}, "price"),
        ({"title": "x", "price": "1", "currency": "euro"}, "currency"),
        ({"title": "x", "price": "1", "tags": ["t"] * 51}, "tags"),
    ],
)
def test_put_rejects_bad_fields(partner_client, body, field):
    response = partner_client.put("/api/v1/products/M-1/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_batch_similar_and_caps(partner_client):
    product(sku="A")
    ok = partner_client.post(
        "/api/v1/similar/batch/",
        {"skus": ["A", "MISSING"], "k": 3},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["results"]["MISSING"] is None
    assert ok.json()["results"]["A"]["k_requested"] == 3
    # Each SKU as sent, as the GET's path takes it: " A " is no product's SKU.
    padded = partner_client.post(
        "/api/v1/similar/batch/", {"skus": [" A "]}, content_type="application/json"
    )
    assert padded.json()["results"] == {" A ": None}
    assert partner_client.get("/api/v1/products/%20A%20/similar/").status_code == 404
    too_many = partner_client.post(
        "/api/v1/similar/batch/", {"skus": ["A"] * 51}, content_type="application/json"
    )
    assert too_many.status_code == 400
    assert partner_client.get("/api/v1/products/A/similar/", {"k": 1000}).status_code == 400


def test_image_search_without_a_model_is_503_and_bad_images_400(partner_client):
    photo = SimpleUploadedFile("q.jpg", image_bytes(), "image/jpeg")
    unavailable = partner_client.post("/api/v1/search/image/", {"image": photo})
    assert (unavailable.status_code, unavailable.json()["code"]) == (503, "unavailable")
    missing = partner_client.post("/api/v1/search/image/", {})
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["image"])
    # A file that is no photo is the sender's to fix, model or not.
    text = SimpleUploadedFile("q.jpg", b"not a photo", "image/jpeg")
    not_a_photo = partner_client.post("/api/v1/search/image/", {"image": text})
    assert (not_a_photo.status_code, list(not_a_photo.json()["errors"])) == (400, ["image"])


def test_model_versions_and_jobs_are_readable(partner_client):
    from similarity.models import Job, ModelVersion

    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="ready"
    )
    job = Job.objects.create(kind="train", model_version=version, progress={"epoch": 1})
    listed = partner_client.get("/api/v1/model-versions/").json()["results"][0]
    assert (listed["id"], listed["embedding_dim"], listed["vector_dim"]) == (version.pk, 8, 8)
    assert partner_client.get(f"/api/v1/jobs/{job.pk}/").json()["progress"] == {"epoch": 1}


def _multipart(fields: dict) -> bytes:
    from django.test.client import encode_multipart

    return encode_multipart("BoUnDaRy", fields)


@pytest.mark.parametrize("value", ["true", "True", "yes", "on", "1"])
def test_the_product_list_takes_every_boolean_spelling_of_in_stock(partner_client, value):
    product(sku="IN", in_stock=True)
    product(sku="OUT", in_stock=False)
    body = partner_client.get(f"/api/v1/products/?in_stock={value}").json()
    assert [p["sku"] for p in body["results"]] == ["IN"]


def test_an_in_stock_that_is_not_a_boolean_is_a_400_naming_it(partner_client):
    response = partner_client.get("/api/v1/products/?in_stock=maybe")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["in_stock"]


@pytest.mark.parametrize(
    ("sku", "body", "field"),
    [
        ("S" * 65, {"title": "x", "price": "1"}, "sku"),
        ("M-1", {"title": "x", "price": "1", "category": "Home > " + "k" * 201}, "category"),
        ("M-1", {"title": "x", "price": "1", "currency": "ßA"}, "currency"),  # upper(): "SSA"
    ],
)
def test_put_refuses_what_the_database_would_with_a_400(partner_client, sku, body, field):
    response = partner_client.put(f"/api/v1/products/{sku}/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Product.objects.exists()


def test_an_unknown_api_path_is_a_json_404(partner_client):
    response = partner_client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_staff_session_reads_the_api_but_only_a_superuser_writes_or_reads_shoppers(client):
    # An admin account's own permissions are not mapped onto the API: staff may browse it,
    # personal data and writes need a superuser, as they need a write key.
    from django.contrib.auth.models import User

    product(sku="A")
    intern = User.objects.create_user("intern", password="x" * 12, is_staff=True)
    client.force_login(intern)
    assert client.get("/api/v1/products/A/").status_code == 200
    assert client.get("/api/v1/visitors/alice/export/").status_code == 403
    assert client.delete("/api/v1/products/A/").status_code == 403
    boss = User.objects.create_superuser("boss", password="x" * 12)
    client.force_login(boss)
    assert client.get("/api/v1/visitors/alice/export/").status_code == 200
    assert client.delete("/api/v1/products/A/").status_code == 204


def test_an_unknown_job_is_a_404_coded_not_found_like_the_other_404s(partner_client):
    response = partner_client.get("/api/v1/jobs/999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_readme_names_only_api_paths_that_exist():
    """The README once sent partners to /api/v1/search/?q=, a 404."""
    import re
    from pathlib import Path

    from django.urls import Resolver404, resolve

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paths = set(re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE)[/A-Z]* (/api/v1/[^`?\s]*)", readme))
    assert "/api/v1/search/text/" in paths
    missing = []
    for path in paths:
        try:
            resolve(re.sub(r"<[^>]+>|…", "1", path))
        except Resolver404:
            missing.append(path)
    assert not missing


@pytest.mark.parametrize("attributes", ['{"w": 1e400}', '{"w": Infinity}', '{"w": NaN}'])
def test_a_form_put_refuses_numbers_jsonb_cannot_store(partner_client, attributes):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    body = encode_multipart(BOUNDARY, {"title": "Mug", "price": "1", "attributes": attributes})

    response = partner_client.put("/api/v1/products/M-1/", body, content_type=MULTIPART_CONTENT)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["attributes"]
    assert not Product.objects.exists()
