"""Hostile partner and storefront requests: oversized bodies, too many fields or files, NUL and
lone surrogates, caps on k, pages and batches, and racing writes — all 4xx, never a 500."""

import io
import json
import os
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.client import encode_multipart
from django.utils import timezone
from PIL import Image

from catalog.importers import ERROR_CATEGORY_PATH
from catalog.models import Category, Product
from partners.models import PartnerApiKey
from tests.catalog.factories import image_bytes, product

pytestmark = pytest.mark.django_db

BOUNDARY = "BoUnDaRy"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
UNSTORABLE_URL = "the URL contains a NUL character or an unpaired surrogate"
UNSTORABLE_JSON = "JSON strings must not contain NUL characters or unpaired surrogates"


@pytest.fixture
def api(partner_client):
    partner_client.raise_request_exception = False  # a 500 must show as a 500, not raise
    return partner_client


def put_json(api, body, sku="M-1"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.put(f"/api/v1/products/{sku}/", data, content_type="application/json")


def put_multipart(api, fields: dict, sku="M-1"):
    return api.put(
        f"/api/v1/products/{sku}/", encode_multipart(BOUNDARY, fields), content_type=MULTIPART
    )


def error(response) -> tuple:
    return response.status_code, response.json()["code"], response.json()["message"]


# --- Upload and body caps: enforced while the bytes arrive, before any decoding ------------------


def test_json_body_over_the_memory_cap_is_a_json_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = put_json(api, {"title": "Mug", "price": "1", "description": "a" * 2000})
    assert error(response) == (
        400,
        "request_too_large",
        "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.",
    )
    assert not Product.objects.exists()


def test_too_many_form_fields_is_a_json_400(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    fields = {"title": "Mug", "price": "1", **{f"f{index}": "x" for index in range(30)}}
    assert error(put_multipart(api, fields)) == (
        400,
        "request_too_large",
        "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.",
    )


def test_too_many_files_is_a_json_400(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    images = [SimpleUploadedFile(f"{index}.jpg", b"x") for index in range(5)]
    assert error(put_multipart(api, {"title": "Mug", "price": "1", "images": images})) == (
        400,
        "request_too_large",
        "The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.",
    )


def test_a_file_over_the_cap_is_refused_while_streaming_before_decoding(api, settings, monkeypatch):
    from catalog.api import views

    def never(*args, **kwargs):
        raise AssertionError("an oversized upload reached the image decoder")

    monkeypatch.setattr(views, "prepare_image", never)
    settings.PRODSIM_MAX_IMAGE_BYTES = 5000
    noise = Image.frombytes("RGB", (100, 100), os.urandom(30_000))  # incompressible: ~30 kB
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    big = SimpleUploadedFile("big.jpg", buffer.getvalue(), "image/png")
    assert big.size > 5000

    response = put_multipart(api, {"title": "Mug", "price": "1", "images": [big]})

    assert error(response) == (
        400,
        "request_too_large",
        "the uploaded file 'big.jpg' is larger than 5000 bytes",
    )
    assert not Product.objects.exists()


def test_a_request_over_the_total_cap_is_refused_before_reading_it(api, settings):
    settings.PRODSIM_MAX_IMAGE_BYTES = 5000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    images = [SimpleUploadedFile(f"{i}.jpg", b"x" * 4900, "image/jpeg") for i in range(11)]
    response = put_multipart(api, {"title": "Mug", "price": "1", "images": images})
    assert error(response) == (
        400,
        "request_too_large",
        "the request body is larger than 51000 bytes",  # 10 images of 5000 + 1000 of fields
    )


def test_refused_uploads_leave_no_temporary_or_stored_file(api, settings, tmp_path, media_root):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # every upload goes to a temporary file
    settings.PRODSIM_MAX_IMAGE_BYTES = 5000
    (tmp_path / "uploads").mkdir()
    good = SimpleUploadedFile("good.jpg", image_bytes(), "image/jpeg")
    bad = SimpleUploadedFile("bad.jpg", b"GIF89a not really", "image/gif")
    too_big = SimpleUploadedFile("big.jpg", b"x" * 6000, "image/jpeg")

    invalid = put_multipart(api, {"title": "Mug", "price": "1", "images": [good, bad]})
    good.seek(0)
    oversized = put_multipart(api, {"title": "Mug", "price": "1", "images": [good, too_big]})

    assert (invalid.status_code, oversized.status_code) == (400, 400)
    assert list((tmp_path / "uploads").iterdir()) == []
    assert [path for path in media_root.rglob("*") if path.is_file()] == []
    assert not Product.objects.exists()


def test_storefront_photo_over_the_cap_is_a_400(client, settings):
    settings.PRODSIM_MAX_IMAGE_BYTES = 5000
    client.raise_request_exception = False
    photo = SimpleUploadedFile("big.jpg", b"x" * 6000, "image/jpeg")
    assert client.post("/search/photo/", {"photo": photo}).status_code == 400


# --- NUL bytes and lone surrogates in path, query and body ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/A%00B/",
        "/api/v1/products/A%00B/similar/",
        "/api/v1/products/?q=a%00b",
        "/api/v1/products/?brand=a%00b",
        "/api/v1/products/?category=a%00b",
        "/api/v1/products/?a%00b=1",
        "/api/v1/products/A/similar/?exclude=a%00",
        "/api/v1/search/text/?q=mug%00",
    ],
)
def test_nul_in_api_path_or_query_is_a_json_400(api, url):
    product(sku="A")
    assert error(api.get(url)) == (400, "invalid", UNSTORABLE_URL)


@pytest.mark.parametrize("url", ["/products/A%00/", "/?q=a%00b", "/?category=a%00", "/?page=%00"])
def test_nul_in_storefront_path_or_query_is_a_400(client, url):
    response = client.get(url)
    assert (response.status_code, response.content.decode()) == (400, UNSTORABLE_URL)


@pytest.mark.parametrize(
    "url", ["/api/v1/products/%ED%A0%80/", "/api/v1/products/?q=%ED%A0%80", "/products/%ED%A0%80/"]
)
def test_surrogate_bytes_in_the_url_are_decoded_safely(api, url):
    # Invalid UTF-8 (an encoded surrogate) is kept percent-encoded or replaced, never a 500.
    assert api.get(url).status_code in {200, 404}


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "a\\u0000b", "price": "1"}',
        '{"title": "a\\ud800b", "price": "1"}',
        '{"title": "ab", "price": "1", "description": "\\udfff"}',
        '{"title": "ab", "price": "1", "attributes": {"colour": "red\\u0000"}}',
        '{"title": "ab", "price": "1", "attributes": {"col\\u0000our": "red"}}',
        '{"title": "ab", "price": "1", "attributes": {"nested": [{"deep": "\\u0000"}]}}',
        '{"title": "ab", "price": "1", "tags": ["\\u0000"]}',
        '{"title": "ab", "price": "1", "category": "Home > \\ud83d"}',
    ],
)
def test_nul_and_lone_surrogates_in_json_bodies_are_a_json_400(api, body):
    assert error(put_json(api, body)) == (400, "parse_error", UNSTORABLE_JSON)
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/match/", '{"title": "a\\u0000b"}'),
        ("/api/v1/similar/batch/", '{"skus": ["a\\u0000b"]}'),
        ("/api/v1/similar/batch/", '{"skus": ["A"], "brand": ["\\ud800"]}'),
    ],
)
def test_unstorable_text_in_search_bodies_is_a_json_400(api, url, body):
    response = api.post(url, body, content_type="application/json")
    assert error(response) == (400, "parse_error", UNSTORABLE_JSON)


def test_a_valid_surrogate_pair_is_ordinary_text(api):
    response = put_json(api, '{"title": "mug \\ud83d\\ude00", "price": "1"}')
    assert (response.status_code, response.json()["title"]) == (201, "mug 😀")


def test_nul_in_a_multipart_field_is_a_400(api):
    response = put_multipart(api, {"title": "a\x00b", "price": "1"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"title": ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"title": "a\xed\xa0\x80b", "price": "1"}', "JSON parse error - 'utf-8' codec can't"),
        (b'{"title": "a\xffb", "price": "1"}', "JSON parse error - 'utf-8' codec can't"),
        (b"[" * 100_000 + b"]" * 100_000, "the JSON document is nested too deeply"),
        (b'{"title": ', "JSON parse error - Expecting value"),
        (b'{"title": NaN, "price": "1"}', "JSON parse error"),
    ],
    ids=["encoded surrogate", "invalid utf-8", "deep nesting", "truncated", "NaN literal"],
)
def test_malformed_json_is_a_json_400(api, body, message):
    code, kind, text = error(put_json(api, body))
    assert (code, kind) == (400, "parse_error") and text.startswith(message)


# --- Caps on k, page sizes and batch sizes ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("get", "/api/v1/products/A/similar/?k=101", None, "k"),
        ("get", "/api/v1/products/A/similar/?k=0", None, "k"),
        ("get", "/api/v1/products/A/similar/?k=99999999999999999999", None, "k"),
        ("get", "/api/v1/search/text/?q=mug&k=101", None, "k"),
        ("get", "/api/v1/search/text/?q=" + "m" * 201, None, "q"),
        ("post", "/api/v1/match/", {"title": "mug", "k": 101}, "k"),
        ("post", "/api/v1/similar/batch/", {"skus": ["A"] * 51}, "skus"),
        ("post", "/api/v1/similar/batch/", {"skus": []}, "skus"),
        ("post", "/api/v1/similar/batch/", {"skus": ["A"], "k": 101}, "k"),
        ("post", "/api/v1/similar/batch/", {"skus": ["A"], "exclude": ["x"] * 101}, "exclude"),
    ],
)
def test_k_and_batch_caps_are_400_naming_the_field(api, method, url, body, field):
    product(sku="A")
    if method == "get":
        response = api.get(url)
    else:
        response = api.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_page_size_is_capped_at_200(api):
    Product.objects.bulk_create(
        Product(sku=f"P{index}", title="Mug", price=1, currency="EUR") for index in range(205)
    )
    response = api.get("/api/v1/products/", {"page_size": 100_000})
    assert (response.status_code, len(response.json()["results"])) == (200, 200)


@pytest.mark.parametrize(
    "cursor", ["garbage", "cD0x", "%ff%fe", "cD0tOTk5OTk5OTk5OTk5OTk5OTk5OTk5"]
)
def test_forged_cursors_are_rejected_or_ignored_never_500(api, cursor):
    response = api.get(f"/api/v1/products/?cursor={cursor}")
    assert response.status_code in {200, 404}


# --- Racing writes of one SKU ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_sku_create_exactly_one_product():
    _, key = PartnerApiKey.objects.create_key(name="racer", scope="write")
    racers = 8
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def upsert(index: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}", raise_request_exception=False)
        body = {"title": "Mug", "price": "5", "category": "Home > Mugs", "tags": [str(index)]}
        try:
            barrier.wait(timeout=30)
            response = client.put(
                "/api/v1/products/RACE-1/", json.dumps(body), content_type="application/json"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()  # each thread has its own connection; leave none open

    threads = [threading.Thread(target=upsert, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] * (racers - 1) + [201]
    assert Product.objects.filter(sku="RACE-1").count() == 1
    assert list(Category.objects.order_by("path").values_list("path", flat=True)) == [
        "Home",
        "Home > Mugs",
    ]


def test_admin_catalogue_upload_over_the_archive_cap_is_a_400(admin_client, settings, media_root):
    from catalog.models import ImportJob

    settings.PRODSIM_MAX_CSV_BYTES = settings.PRODSIM_MAX_ARCHIVE_BYTES = 2000
    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    admin_client.raise_request_exception = False
    csv_upload = SimpleUploadedFile("c.csv", b"sku,title,price\r\n" + b"A,Mug,1\r\n" * 400)

    response = admin_client.post(
        "/admin/catalog/importjob/add/", {"csv_upload": csv_upload}, follow=False
    )

    assert response.status_code == 400
    assert not ImportJob.objects.exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_a_lone_surrogate_in_an_event_id_rejects_that_event_not_the_batch(api):
    # The events endpoint parses leniently so that bad text is rejected per event; the answer
    # echoes the rejected id, which must stay encodable (escaped), or the whole batch is a 500.
    product(sku="A")
    at = timezone.now().isoformat()
    good = f'"kind": "view", "sku": "A", "visitor_id": "alice", "occurred_at": "{at}"'
    body = f'{{"events": [{{"event_id": "bad\\ud800", {good}}}, {{"event_id": "ok-1", {good}}}]}}'
    response = api.post("/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["events"][0]["event_id"] == "bad\\ud800"


@pytest.mark.parametrize("signed_in", ["anonymous", "not staff", "staff elsewhere"])
def test_only_staff_on_the_import_pages_get_the_archive_cap(settings, signed_in):
    """The body is read before any view checks its sender (the sign-in throttle reads the
    login form, the CSRF check any form with a cookie, even a forged one): anyone else posting
    to the admin gets the image cap, or a 2 GB body could be spooled to disk by anyone."""
    from django.contrib.auth.models import User
    from django.test import Client

    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    settings.PRODSIM_MAX_CSV_BYTES = settings.PRODSIM_MAX_ARCHIVE_BYTES = 200_000
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32  # the CSRF check then reads the body
    url = "/admin/login/"
    if signed_in != "anonymous":
        user = User.objects.create_user("someone", is_staff=signed_in == "staff elsewhere")
        client.force_login(user)
        url = "/admin/catalog/product/add/"
    junk = SimpleUploadedFile("junk.bin", b"x" * 5_000)  # under the archive cap

    response = client.post(url, {"username": "x", "password": "y", "file": junk})

    assert response.status_code == 400


def test_staff_on_an_import_page_get_the_archive_cap(admin_client, settings, media_root):
    from behaviour.models import EventImportJob

    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    settings.PRODSIM_MAX_CSV_BYTES = settings.PRODSIM_MAX_ARCHIVE_BYTES = 200_000
    rows = b"order_id,occurred_at,visitor_id,sku,quantity,unit_price\r\n"
    rows += b"o1,2026-01-01T00:00:00+00:00,v,A,1,1.00\r\n" * 200  # 8 kB: over the image cap
    upload = SimpleUploadedFile("orders.csv", rows)

    response = admin_client.post("/admin/behaviour/eventimportjob/add/", {"csv_upload": upload})

    assert response.status_code == 302 and EventImportJob.objects.count() == 1


def test_a_category_growing_past_its_column_once_normalised_is_a_400(api):
    tight = ">".join(["a"] * 500)  # 999 characters as sent, 1997 once stored as "a > a > …"

    response = put_json(api, {"title": "Mug", "price": "5", "category": tight})

    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"category": [ERROR_CATEGORY_PATH]},
    )
    assert not Category.objects.exists() and not Product.objects.exists()
