"""A catalogue import's page is a record: it is not saved again, and a deleted import takes its
uploaded CSV and zip with it once the delete commits; a running import is cancelled first, since
its worker still reads the files and writes the row."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from catalog.models import ImportJob, ImportRowError
from catalog.services import import_job_create, import_jobs_delete

from .factories import csv_bytes, image_bytes, write, zip_bytes

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:catalog_importjob_changelist")


def an_import(tmp_path, state: str = ImportJob.State.QUEUED) -> ImportJob:
    csv = write(tmp_path / "in" / "shop.csv", csv_bytes([{"sku": "A1", "title": "Mug"}]))
    images = write(tmp_path / "in" / "photos.zip", zip_bytes({"a.jpg": image_bytes()}))
    job = import_job_create(csv_file=csv, images=images, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(state=state)
    job.refresh_from_db()
    return job


def stored_files(job: ImportJob) -> list[str]:
    names = (job.csv_file.name, job.images_file.name)
    return [name for name in names if default_storage.exists(name)]


def test_a_deleted_import_takes_its_csv_and_zip_once_the_delete_commits(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    job = an_import(tmp_path, state=ImportJob.State.SUCCEEDED)
    assert len(stored_files(job)) == 2

    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        response = admin_client.post(
            reverse("admin:catalog_importjob_delete", args=[job.pk]), {"post": "yes"}
        )
    assert response.status_code == 302 and not ImportJob.objects.exists()
    assert len(stored_files(job)) == 2  # a rolled-back delete would still name them

    for callback in on_commit:
        callback()
    assert stored_files(job) == []


def test_delete_selected_takes_queued_and_ended_imports_with_their_files(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    jobs = [an_import(tmp_path), an_import(tmp_path, state=ImportJob.State.CANCELLED)]

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            LIST_URL,
            {"action": "delete_selected", "_selected_action": [j.pk for j in jobs], "post": "yes"},
        )

    assert not ImportJob.objects.exists()
    assert [stored_files(job) for job in jobs] == [[], []]


def test_a_running_import_is_cancelled_not_deleted(admin_client, tmp_path):
    job = an_import(tmp_path, state=ImportJob.State.RUNNING)
    url = reverse("admin:catalog_importjob_delete", args=[job.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    action = admin_client.post(
        LIST_URL,
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
        follow=True,
    )

    assert (page.status_code, posted.status_code, action.status_code) == (403, 403, 200)
    assert "1 running import(s) not deleted: cancel them first" in action.content.decode()
    assert ImportJob.objects.filter(pk=job.pk).exists() and len(stored_files(job)) == 2


def test_delete_selected_deletes_the_ended_imports_and_keeps_the_running_ones(
    admin_client, tmp_path
):
    # The confirmation page said the superuser lacked the permission, and confirming was a 403.
    ended = an_import(tmp_path, state=ImportJob.State.SUCCEEDED)
    running = an_import(tmp_path, state=ImportJob.State.RUNNING)
    selected = {"action": "delete_selected", "_selected_action": [ended.pk, running.pk]}

    page = admin_client.post(LIST_URL, selected).content.decode()
    response = admin_client.post(LIST_URL, {**selected, "post": "yes"}, follow=True)

    assert "permission" not in page and "cancel them first" in page
    assert f"/importjob/{ended.pk}/change/" in page and f"/{running.pk}/change/" not in page
    assert response.status_code == 200
    assert "1 running import(s) not deleted: cancel them first" in response.content.decode()
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [running.pk]


def test_the_delete_confirmation_counts_an_imports_problems_instead_of_listing_them(
    admin_client, django_assert_max_num_queries
):
    # One item per problem: 100k of them made a 6 s, 11 MB page.
    job = ImportJob.objects.create(state=ImportJob.State.SUCCEEDED)
    ImportRowError.objects.bulk_create(
        ImportRowError(job=job, line=n + 2, column="price", sku=f"S{n}", level="row", message="m")
        for n in range(500)
    )

    with django_assert_max_num_queries(20):
        page = admin_client.get(reverse("admin:catalog_importjob_delete", args=[job.pk]))

    html = page.content.decode()
    assert page.status_code == 200 and "500 problem(s) reported by this import" in html
    assert "line 501: m" not in html


def test_an_import_claimed_while_its_deletion_was_confirmed_is_kept(
    tmp_path, django_capture_on_commit_callbacks
):
    job = an_import(tmp_path)
    confirmed = ImportJob.objects.filter(pk=job.pk)  # what the confirmation page listed
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)  # a worker claims

    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_delete(jobs=confirmed) == (0, 1)

    assert ImportJob.objects.filter(pk=job.pk).exists() and len(stored_files(job)) == 2


def test_saving_an_imports_page_is_refused_and_starts_nothing(admin_client, tmp_path):
    job = an_import(tmp_path, state=ImportJob.State.SUCCEEDED)
    url = reverse("admin:catalog_importjob_change", args=[job.pk])

    page = admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        {
            "row_errors-TOTAL_FORMS": "0",
            "row_errors-INITIAL_FORMS": "0",
            "row_errors-MIN_NUM_FORMS": "0",
            "row_errors-MAX_NUM_FORMS": "0",
        },
    )

    assert 'name="_save"' not in page and "/delete/" in page  # view-only, delete kept
    assert response.status_code == 403
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [job.pk]
