"""Photos that once broke an import, an upload or a search: a damaged EXIF block, the same bytes
twice in one product, 16-bit greyscale; and what the admin's image delete leaves behind."""

import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from PIL import Image

from catalog.images import prepare_image
from catalog.importers import ProductRow
from catalog.models import Product
from catalog.services import import_job_create, import_job_run, product_upsert
from catalog.services.products import ImageToAttach
from tests.catalog.factories import csv_bytes, image_bytes, write, zip_bytes

pytestmark = pytest.mark.django_db
RED, BLUE = image_bytes((200, 30, 30)), image_bytes((30, 30, 200))
LIMITS = {"max_bytes": 10**7, "max_pixels": 10**7}


def damaged_exif_webp() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn it
    raw = exif.tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "red").save(buffer, "WEBP", exif=raw[:6] + b"M\xf6" + raw[8:])
    return buffer.getvalue()


def import_rows(tmp_path, rows: list[dict], images: dict[str, bytes]):
    header = ["sku", "title", "price", "images"]
    csv_path = write(tmp_path / "c.csv", csv_bytes(rows, header=header))
    job = import_job_create(
        csv_file=csv_path, images=write(tmp_path / "i.zip", zip_bytes(images)), enqueue=False
    )
    return import_job_run(job_id=job.pk)


def test_a_damaged_exif_block_keeps_the_photo_as_it_is():
    prepared = prepare_image(damaged_exif_webp(), **LIMITS)

    assert (prepared.width, prepared.height) == (16, 8)


def test_an_import_with_a_damaged_exif_photo_imports_every_row(tmp_path):
    rows = [
        {"sku": "A", "title": "a", "price": "1", "images": "bad.webp"},
        {"sku": "B", "title": "b", "price": "1", "images": "red.jpg"},
    ]

    job = import_rows(tmp_path, rows, {"bad.webp": damaged_exif_webp(), "red.jpg": RED})

    assert job.state == "succeeded"
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["A", "B"]
    assert Product.objects.get(sku="A").images.count() == 1


def test_the_same_bytes_twice_become_one_image_at_the_first_place(tmp_path):
    rows = [{"sku": "A", "title": "a", "price": "1", "images": "one.jpg|red.jpg|copy.jpg"}]

    job = import_rows(tmp_path, rows, {"one.jpg": BLUE, "red.jpg": RED, "copy.jpg": BLUE})

    images = Product.objects.get(sku="A").images.order_by("position")
    assert job.state == "succeeded" and job.failed_count == 0
    assert [(image.source_name, image.is_primary) for image in images] == [
        ("one.jpg", True),
        ("red.jpg", False),
    ]


def test_the_same_photo_uploaded_twice_through_the_api_is_kept_once(partner_client):
    files = [SimpleUploadedFile(f"{name}.jpg", RED, "image/jpeg") for name in "ab"]

    response = partner_client.put(
        "/api/v1/products/A/",
        encode_multipart(BOUNDARY, {"title": "Mug", "price": "1", "images": files}),
        content_type=MULTIPART_CONTENT,
    )

    assert response.status_code in (200, 201)
    assert Product.objects.get(sku="A").images.count() == 1


def test_a_16_bit_grey_photo_stays_grey():
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(buffer, "PNG")  # mid-grey

    prepared = prepare_image(buffer.getvalue(), **LIMITS)

    red, green, blue = Image.open(io.BytesIO(prepared.content)).getpixel((0, 0))
    assert 120 <= red <= 136 and red == green == blue


def test_a_nul_in_a_form_sent_attribute_is_a_400_with_the_reason(partner_client):
    body = {"title": "Mug", "price": "1", "attributes.colour": "re\x00d"}

    response = partner_client.put(
        "/api/v1/products/A/", encode_multipart(BOUNDARY, body), content_type=MULTIPART_CONTENT
    )

    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert not Product.objects.exists()


def test_deleting_the_primary_image_in_the_admin_promotes_the_next_and_drops_the_file(
    admin_client, django_capture_on_commit_callbacks
):
    images = [
        ImageToAttach(prepare_image(data, **LIMITS), f"{number}.jpg")
        for number, data in enumerate([RED, BLUE])
    ]
    row = ProductRow(line=2, sku="MUG-1", title="Mug", price=Decimal("1"), currency="EUR")
    product_upsert(row=row, images=images)
    product = Product.objects.get(sku="MUG-1")
    first, second = product.images.order_by("position")
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    form = admin_client.get(change_url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {
        "category": "",
        "tags": "",
        "attributes": "{}",
        "images-TOTAL_FORMS": "2",
        "images-INITIAL_FORMS": "2",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-id": first.pk,
        "images-0-product": product.pk,
        "images-0-DELETE": "on",
        "images-1-id": second.pk,
        "images-1-product": product.pk,
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change_url, data)

    assert response.status_code == 302
    assert list(product.images.values_list("pk", "is_primary", "position")) == [
        (second.pk, True, 0)
    ]
    assert not default_storage.exists(first.file.name)
