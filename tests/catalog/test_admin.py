import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import ImportJob
from catalog.services import import_job_run

from .factories import csv_bytes, image_bytes, zip_bytes

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:catalog_importjob_add")


def upload(client, csv_data: bytes, zip_data: bytes | None, zip_name="images.zip"):
    data = {"csv_upload": SimpleUploadedFile("shop.csv", csv_data, "text/csv")}
    if zip_data is not None:
        data["images_upload"] = SimpleUploadedFile(zip_name, zip_data, "application/zip")
    return client.post(ADD_URL, data)


def test_upload_creates_a_queued_job_and_enqueues_it_after_commit(
    admin_client, django_capture_on_commit_callbacks
):
    rows = [
        {"sku": "A", "title": "Mug", "price": "1", "images": "a.jpg"},
        {"sku": "B", "title": "Mug", "price": "x", "images": ""},
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(
            admin_client,
            csv_bytes(rows, header=["sku", "title", "price", "images"]),
            zip_bytes({"a.jpg": image_bytes()}),
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalog_importjob_change", args=[job.pk])
    assert (job.state, job.created_by.username) == ("queued", "admin")
    assert len(callbacks) == 1

    import_job_run(job_id=job.pk)
    page = admin_client.get(response["Location"]).content.decode()
    assert "price &#x27;x&#x27; is not a non-negative amount with at most 2 decimals" in page
    assert 'http-equiv="refresh"' not in page


def test_a_running_job_page_refreshes_itself(admin_client):
    upload(admin_client, b"sku,title,price\n", None)
    job = ImportJob.objects.get()
    page = admin_client.get(reverse("admin:catalog_importjob_change", args=[job.pk]))
    assert 'http-equiv="refresh"' in page.content.decode()


def test_images_must_be_a_zip(admin_client):
    response = upload(admin_client, b"sku,title,price\n", b"x", zip_name="images.tar")
    assert response.status_code == 200
    assert "Upload the images as a .zip archive." in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_product_admin_lists_with_thumbnails(admin_client):
    from .test_views import add

    add("MUG-1", "Red mug", image=image_bytes())
    page = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "MUG-1" in page and '<img src="/media/products/' in page
