"""Races between two partner requests (threads, committed transactions)."""

import json
import threading

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.client import encode_multipart

from catalog.models import Category, Product, ProductImage
from catalog.services import products as product_services
from partners.models import PartnerApiKey
from tests.catalog.factories import image_bytes

BOUNDARY = "BoUnDaRy"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}", raise_request_exception=False)


def _put_with_photo(client: Client, sku: str, photo: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fields = {"title": "Mug", "price": "5", "images": [SimpleUploadedFile("a.jpg", photo)]}
    return client.put(
        f"/api/v1/products/{sku}/", encode_multipart(BOUNDARY, fields), content_type=MULTIPART
    )


@pytest.mark.django_db(transaction=True)
def test_deleting_a_product_while_another_takes_the_same_photo_keeps_the_shared_file(
    monkeypatch, media_root
):
    """Two variants share one photo (content-addressed: one stored file). Product B's PUT reuses
    the file A already stored; A is deleted before B's transaction commits. A's cleanup sees no
    committed row using the file and deletes it: B is left pointing at a file that is gone."""
    _, key = PartnerApiKey.objects.create_key(name="racer", scope="write")
    photo = image_bytes(color=(10, 200, 30))
    assert _put_with_photo(_client(key), "A", photo).status_code == 201
    b_reused, a_deleted = threading.Event(), threading.Event()
    original = product_services._new_image

    def new_image_then_pause(product, to_attach, written):
        image = original(product, to_attach, written)
        if product.sku == "B":
            b_reused.set()
            a_deleted.wait(timeout=30)
        return image

    monkeypatch.setattr(product_services, "_new_image", new_image_then_pause)
    statuses = []

    def put_b():
        try:
            statuses.append(_put_with_photo(_client(key), "B", photo).status_code)
        finally:
            connection.close()

    thread = threading.Thread(target=put_b)
    thread.start()
    assert b_reused.wait(timeout=30)
    deleted = []

    def delete_a():
        try:
            deleted.append(_client(key).delete("/api/v1/products/A/").status_code)
        finally:
            connection.close()

    # The deletion's clean-up waits for B's transaction (or, before the fix, deletes the file).
    deleter = threading.Thread(target=delete_a)
    deleter.start()
    deleter.join(timeout=2)
    a_deleted.set()
    thread.join(timeout=60)
    deleter.join(timeout=60)

    assert (deleted, statuses) == ([204], [201])
    image = ProductImage.objects.get(product__sku="B")
    assert default_storage.exists(image.file.name), "B's photo file was deleted with A"


@pytest.mark.django_db(transaction=True)
def test_two_new_categories_whose_slugs_collide_created_at_once_are_not_a_500(monkeypatch):
    """'Home & Garden' and 'Home > Garden' (or 'Kids' and 'kids') slugify alike. Created by two
    PUTs at the same moment, both pick the same free slug; the second INSERT fails on the slug's
    unique index and get_or_create, finding no row with its *path*, re-raises: a 500."""
    Category.objects.create(name="Home", path="Home", slug="home")
    _, key = PartnerApiKey.objects.create_key(name="racer", scope="write")
    paths = {"Home & Garden", "Home > Garden"}
    barrier = threading.Barrier(2)
    original = product_services._unique_category_slug

    waited = set()

    def slug_then_wait(path):
        slug = original(path)
        if path in paths and path not in waited:  # both pick a slug before either inserts
            waited.add(path)
            barrier.wait(timeout=30)
        return slug

    monkeypatch.setattr(product_services, "_unique_category_slug", slug_then_wait)
    statuses = {}

    def put(sku, category):
        try:
            body = json.dumps({"title": "Spade", "price": "5", "category": category})
            response = _client(key).put(
                f"/api/v1/products/{sku}/", body, content_type="application/json"
            )
            statuses[sku] = response.status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=put, args=("S1", "Home & Garden")),
        threading.Thread(target=put, args=("S2", "Home > Garden")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == {"S1": 201, "S2": 201}
    assert Product.objects.count() == 2
    slugs = set(Category.objects.filter(path__in=paths).values_list("slug", flat=True))
    assert len(slugs) == 2
