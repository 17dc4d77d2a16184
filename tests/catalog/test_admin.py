import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import ImportJob, ImportRowError
from catalog.services import import_job_run
from core.jobs.admin import PAGE_PROBLEMS
from core.jobs.heartbeat import worker_name
from tests.similarity.factories import tasks_sent
from tests.staff import login, non_staff_user, staff_user

from .factories import add_product, change_form, csv_bytes, image_bytes, zip_bytes

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
    assert 'data-finished="true"' in page  # the script does not poll a finished job


def test_a_queued_job_page_polls_its_progress_without_reloading(admin_client):
    upload(admin_client, b"sku,title,price\n", None)
    job = ImportJob.objects.get()
    page = admin_client.get(reverse("admin:catalog_importjob_change", args=[job.pk]))
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html
    assert 'src="/static/js/job_progress.js"' in html
    assert f'data-progress-url="/admin/catalog/importjob/{job.pk}/progress/"' in html
    assert 'data-finished="false"' in html


def test_the_progress_endpoint_returns_the_imports_real_state(admin_client):
    rows = [
        {"sku": "A", "title": "Mug", "price": "1"},
        {"sku": "B", "title": "Mug", "price": "x"},
    ]
    upload(admin_client, csv_bytes(rows, header=["sku", "title", "price"]), None)
    job = ImportJob.objects.get()
    url = reverse("admin:catalog_importjob_progress", args=[job.pk])
    queued = admin_client.get(url).json()

    import_job_run(job_id=job.pk)
    finished = admin_client.get(url)

    assert (queued["state"], queued["finished"], queued["rows_total"]) == ("queued", False, 0)
    assert "no-cache" in finished["Cache-Control"]
    body = finished.json()
    assert body.pop("heartbeat").startswith(f"worker {worker_name()}, ")  # the claim's heartbeat
    assert body == {
        "id": job.pk,
        "state": "succeeded",
        "finished": True,
        "cancel_requested": False,
        "rows_done": 2,
        "rows_total": 2,
        "rows_per_s": None,  # only while running
        "eta_s": None,
        "created_count": 1,
        "updated_count": 0,
        "unchanged_count": 0,
        "failed_count": 1,
        "images_added": 0,
        "images_rejected": 0,
        "errors": 1,
        "error": "",
        "heartbeat_warning": "",
    }


def test_progress_rate_and_eta_while_running():
    from datetime import timedelta

    from catalog.selectors import import_job_progress

    job = ImportJob.objects.create(state="running", rows_total=100, rows_done=40)
    job.started_at = job.created_at
    now = job.started_at + timedelta(seconds=20)

    progress = import_job_progress(job=job, now=now)

    assert (progress["rows_per_s"], progress["eta_s"]) == (2.0, 30)


def test_a_retry_rates_its_own_lines_by_its_own_time():
    from datetime import timedelta

    from catalog.selectors import import_job_progress
    from catalog.services.imports import IMPORTS

    job = ImportJob.objects.create(state="queued", rows_total=100)
    first = IMPORTS.claim(job.pk, max_attempts=3)
    # The first attempt's worker died; the retry, an hour later, counts its lines from zero.
    ImportJob.objects.filter(pk=job.pk).update(
        state="queued", started_at=first.started_at - timedelta(hours=1)
    )
    retry = IMPORTS.claim(job.pk, max_attempts=3)
    retry.rows_done = 40

    progress = import_job_progress(job=retry, now=retry.claimed_at + timedelta(seconds=20))

    assert retry.attempts == 2 and retry.started_at < first.started_at  # the first attempt's
    assert (progress["rows_per_s"], progress["eta_s"]) == (2.0, 30)


def test_a_retry_shows_no_rate_until_it_has_done_a_line():
    from datetime import timedelta

    from catalog.selectors import import_job_progress
    from catalog.services.imports import IMPORTS

    job = ImportJob.objects.create(state="queued", rows_total=100)
    IMPORTS.claim(job.pk, max_attempts=3)
    # The first attempt wrote 60 lines, then its worker died; the reaper requeued it.
    ImportJob.objects.filter(pk=job.pk).update(state="queued", rows_done=60)
    retry = IMPORTS.claim(job.pk, max_attempts=3)

    page_row = ImportJob.objects.get(pk=job.pk)  # what the progress view reads
    progress = import_job_progress(job=page_row, now=retry.claimed_at + timedelta(seconds=2))

    # Was 60 old lines over the retry's 2 s: 30.0 rows/s, an ETA of a second.
    assert (progress["rows_done"], progress["rows_per_s"], progress["eta_s"]) == (0, None, None)


def test_staff_without_the_upload_permission_cannot_upload(client):
    login(client, staff_user("catalog.add_importjob", "catalog.view_importjob"))

    assert client.get(ADD_URL).status_code == 403
    response = upload(client, b"sku,title,price\nA,Mug,1\n", None)

    assert response.status_code == 403
    assert ImportJob.objects.count() == 0


def test_staff_with_the_upload_permission_upload_and_follow_the_import(
    client, django_capture_on_commit_callbacks
):
    login(client, staff_user("catalog.upload_catalogue"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, b"sku,title,price\nA,Mug,1\n", None)

    job = ImportJob.objects.get()
    assert response["Location"] == reverse("admin:catalog_importjob_change", args=[job.pk])
    assert len(callbacks) == 1
    assert client.get(response["Location"]).status_code == 200
    progress = client.get(reverse("admin:catalog_importjob_progress", args=[job.pk]))
    assert progress.json()["state"] == "queued"


def test_staff_without_any_import_permission_cannot_follow_imports(client):
    job = ImportJob.objects.create()
    login(client, staff_user("catalog.view_product"))

    progress = client.get(reverse("admin:catalog_importjob_progress", args=[job.pk]))

    assert progress.status_code == 403


@pytest.mark.parametrize("url", [ADD_URL, reverse("admin:catalog_importjob_progress", args=[1])])
def test_non_staff_are_sent_to_the_admin_login(client, url):
    login(client, non_staff_user())

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_images_must_be_a_zip(admin_client):
    response = upload(admin_client, b"sku,title,price\n", b"x", zip_name="images.tar")
    assert response.status_code == 200
    assert "Upload the images as a .zip archive." in response.content.decode()
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize("field", ["csv_file", "images_file"])
def test_a_file_whose_name_is_too_long_for_the_disk_is_stored_under_a_shorter_one(
    admin_client, media_root, field
):
    # 90 Japanese characters are 270 bytes, past a file system's 255: the upload was a 500, and
    # a CSV stored before the zip failed stayed in media for good.
    long_name = "商品カタログ" * 15
    csv_name, zip_name = ("shop", long_name) if field == "images_file" else (long_name, "photos")
    response = admin_client.post(
        ADD_URL,
        {
            "csv_upload": SimpleUploadedFile(f"{csv_name}.csv", b"sku,title,price\nA,Mug,1\n"),
            "images_upload": SimpleUploadedFile(f"{zip_name}.zip", zip_bytes({})),
        },
    )

    assert response.status_code == 302
    job = ImportJob.objects.get()
    stored = Path(getattr(job, field).name)
    stem, random_part = stored.stem.rsplit("_", 1)  # the first 100 bytes, then Django's suffix
    assert (stem, len(random_part)) == (long_name[:33], 7)
    assert stored.suffix == (".zip" if field == "images_file" else ".csv")
    assert import_job_run(job_id=job.pk).state == "succeeded"


def test_product_admin_lists_with_thumbnails(admin_client):
    add_product("MUG-1", "Red mug", image=image_bytes())
    page = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "MUG-1" in page and '<img src="/media/products/' in page


def test_product_admin_never_counts_the_catalogue_per_brand_and_category(
    admin_client, django_assert_max_num_queries
):
    """Django's "Show counts" ran one COUNT per brand and per category over every product on
    each page load, and kept asking once clicked (`_facets` stays in the URL)."""
    for n in range(12):
        add_product(f"P{n}", f"Mug {n}", category=f"Shop > Aisle {n}", brand=f"Brand {n}")
    url = reverse("admin:catalog_product_changelist")

    with django_assert_max_num_queries(30):
        page = admin_client.get(url, {"_facets": "True"}).content.decode()

    assert "Show counts" not in page and "Hide counts" not in page


def test_admin_edits_and_deletes_notify_similarity(
    admin_client, django_capture_on_commit_callbacks
):
    """An admin edit refreshes the text vector and hides cached lists, as an import would."""
    from catalog.models import Product
    from similarity import cache as similar_cache

    add_product("MUG-1", "Red mug", image=image_bytes())
    product = Product.objects.get(sku="MUG-1")
    key = similar_cache.entry_key(sku="MUG-1", params={"k": 3})
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    data = change_form(admin_client, product, title="Blue mug")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(change_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert "similarity.tasks.product_texts_refresh_task" in tasks_sent(callbacks)
    assert similar_cache.entry_key(sku="MUG-1", params={"k": 3}) != key

    key = similar_cache.entry_key(sku="MUG-1", params={"k": 3})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_product_delete", args=[product.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Product.objects.filter(sku="MUG-1").exists()
    assert similar_cache.entry_key(sku="MUG-1", params={"k": 3}) != key


def test_renaming_a_sku_drops_the_old_skus_cached_lists(
    admin_client, django_capture_on_commit_callbacks
):
    """Lists are cached by SKU: after a rename the old SKU names no product, and its similar and
    behaviour lists must not be served from the cache either."""
    from behaviour import cache as behaviour_cache
    from catalog.models import Product
    from similarity import cache as similar_cache

    add_product("MUG-1", "Red mug", image=image_bytes())
    product = Product.objects.get(sku="MUG-1")

    def cached_keys(sku: str) -> tuple[str, str]:
        similar = similar_cache.entry_key(sku=sku, params={"k": 3})
        bought = behaviour_cache.entry_key(list_name="bought_together", sku=sku, params={"k": 3})
        return similar, bought

    before = cached_keys("MUG-1")
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    data = change_form(admin_client, product, sku="MUG-2")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change_url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Product.objects.get(pk=product.pk).sku == "MUG-2"
    after = cached_keys("MUG-1")
    assert (after[0] != before[0], after[1] != before[1]) == (True, True)


def test_a_sku_typed_decomposed_is_stored_as_every_import_stores_it(admin_client, monkeypatch):
    """A macOS-typed accent (NFD) saved as such would make the next import a second product."""
    from catalog import changes
    from catalog.models import Product

    deleted = []
    monkeypatch.setattr(changes, "product_deleted", lambda *, sku: deleted.append(sku))
    add_product("CAF\u00c9-1", "Cup", image=image_bytes())
    add_product("MUG-1", "Red mug", image=image_bytes())
    cup, mug = Product.objects.get(sku="CAF\u00c9-1"), Product.objects.get(sku="MUG-1")

    def post_sku(product, sku: str):
        url = reverse("admin:catalog_product_change", args=[product.pk])
        return admin_client.post(url, change_form(admin_client, product, sku=sku))

    retyped = post_sku(cup, "CAFE\u0301-1")
    assert retyped.status_code == 302, retyped.context["adminform"].form.errors
    assert Product.objects.get(pk=cup.pk).sku == "CAF\u00c9-1" and deleted == []  # not renamed
    renamed = post_sku(cup, "CAFE\u0301-2")
    assert renamed.status_code == 302, renamed.context["adminform"].form.errors
    assert Product.objects.get(pk=cup.pk).sku == "CAF\u00c9-2" and deleted == ["CAF\u00c9-1"]
    clash = post_sku(mug, "CAFE\u0301-2")
    assert clash.status_code == 200
    assert list(clash.context["adminform"].form.errors) == ["sku"]
    # Stored decomposed beside its composed twin (before every door normalised): still editable.
    Product.objects.filter(pk=mug.pk).update(sku="CAFE\u0301-2")
    kept = post_sku(mug, "CAFE\u0301-2")
    assert kept.status_code == 302, kept.context["adminform"].form.errors
    assert Product.objects.get(pk=mug.pk).sku == "CAFE\u0301-2"


def _cancel(client, job: ImportJob):
    return client.post(reverse("admin:catalog_importjob_cancel", args=[job.pk]), follow=True)


def test_an_uploader_cancels_a_queued_import_from_its_page(client):
    login(client, staff_user("catalog.upload_catalogue"))
    job = ImportJob.objects.create()
    page = client.get(reverse("admin:catalog_importjob_change", args=[job.pk])).content.decode()
    assert 'id="cancel-import"' in page

    response = _cancel(client, job)

    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("cancelled", True)
    assert f"Import #{job.pk} was still queued: cancelled, nothing was imported." in (
        response.content.decode()
    )
    assert 'id="cancel-import"' not in response.content.decode()  # finished: no button


def test_cancelling_a_running_import_asks_it_to_stop(admin_client):
    job = ImportJob.objects.create(state="running", rows_total=100, rows_done=10)

    response = _cancel(admin_client, job)

    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("running", True)
    page = response.content.decode()
    assert f"Cancellation of import #{job.pk} requested; it stops within 25 rows." in page
    assert "Cancellation requested: the import stops at its next progress write" in page
    progress = admin_client.get(reverse("admin:catalog_importjob_progress", args=[job.pk]))
    assert progress.json()["cancel_requested"] is True


def test_the_list_action_cancels_queued_and_asks_running_imports(admin_client):
    queued = ImportJob.objects.create()
    running = ImportJob.objects.create(state="running")
    done = ImportJob.objects.create(state="succeeded")

    response = admin_client.post(
        reverse("admin:catalog_importjob_changelist"),
        {"action": "cancel", "_selected_action": [queued.pk, running.pk, done.pk]},
        follow=True,
    )

    states = dict(ImportJob.objects.values_list("pk", "state"))
    assert (states[queued.pk], states[running.pk], states[done.pk]) == (
        "cancelled",
        "running",
        "succeeded",
    )
    assert "1 queued import(s) cancelled; 1 running import(s) asked to stop." in (
        response.content.decode()
    )


def test_viewing_imports_is_not_enough_to_cancel_one(client):
    job = ImportJob.objects.create()
    login(client, staff_user("catalog.view_importjob"))
    page = client.get(reverse("admin:catalog_importjob_change", args=[job.pk])).content.decode()

    response = client.post(reverse("admin:catalog_importjob_cancel", args=[job.pk]))

    assert 'id="cancel-import"' not in page
    assert response.status_code == 403
    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("queued", False)


# --- Problems -------------------------------------------------------------------------------------


def _job_with_image_problems(count: int) -> ImportJob:
    job = ImportJob.objects.create(state="succeeded", rows_total=count, rows_done=count)
    ImportRowError.objects.bulk_create(
        ImportRowError(
            job=job,
            line=n + 2,
            column="images",
            sku=f"=S{n}",  # a formula, were it opened unescaped in a spreadsheet
            level=ImportRowError.Level.IMAGE_REJECTED,
            message=f"p{n}.jpg: not in the zip",
        )
        for n in range(count)
    )
    return job


def test_the_job_page_lists_the_first_problems_and_counts_them_all(admin_client):
    job = _job_with_image_problems(PAGE_PROBLEMS + 5)

    page = admin_client.get(reverse("admin:catalog_importjob_change", args=[job.pk]))

    html = page.content.decode()
    download = reverse("admin:catalog_importjob_problems", args=[job.pk])
    assert f'The first 200 of 205 problems; <a href="{download}" id="problems-csv">' in html
    assert "<td>2</td><td>image rejected</td><td>images</td><td>=S0</td>" in html
    assert "<td>201</td><td>image rejected</td>" in html  # the 200th problem, the last shown
    assert "<td>202</td>" not in html
    assert html.count("not in the zip") == PAGE_PROBLEMS


def test_a_job_with_few_problems_lists_them_all(admin_client):
    job = _job_with_image_problems(2)

    page = admin_client.get(reverse("admin:catalog_importjob_change", args=[job.pk]))

    html = page.content.decode()
    assert "2 problem(s); <a href=" in html
    assert html.count("not in the zip") == 2


def test_the_problems_download_has_every_problem_spreadsheet_safe(admin_client):
    job = _job_with_image_problems(PAGE_PROBLEMS + 5)

    response = admin_client.get(reverse("admin:catalog_importjob_problems", args=[job.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{job.pk}-problems.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["line", "level", "column", "sku", "message"]
    assert rows[1] == ["2", "image", "images", "'=S0", "p0.jpg: not in the zip"]
    assert [row[0] for row in rows[1:]] == [str(n + 2) for n in range(PAGE_PROBLEMS + 5)]


def test_the_problems_download_follows_who_may_view_the_import(client):
    job = _job_with_image_problems(1)
    url = reverse("admin:catalog_importjob_problems", args=[job.pk])

    login(client, staff_user("catalog.change_product", username="other"))
    assert client.get(url).status_code == 403
    login(client, staff_user("catalog.upload_catalogue"))
    assert client.get(url).status_code == 200


def test_the_problems_download_of_no_job_is_a_404(admin_client):
    assert admin_client.get("/admin/catalog/importjob/abc/problems.csv").status_code == 404
    assert admin_client.get("/admin/catalog/importjob/999999/problems.csv").status_code == 404


def test_saving_a_product_keeps_a_tag_that_holds_a_comma(admin_client):
    """The admin's tags field split at commas: saving the page for a title turned the CSV's
    tag "salt, pepper" into two tags."""
    from catalog.models import Product

    add_product("MUG-1", "Red mug", image=image_bytes(), tags=["salt, pepper", "gift"])
    product = Product.objects.get(sku="MUG-1")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    tags = admin_client.get(url).context["adminform"].form["tags"]
    shown = tags.field.prepare_value(tags.value())
    assert shown == "salt, pepper|gift"

    admin_client.post(url, change_form(admin_client, product, title="Blue mug", tags=shown))

    product.refresh_from_db()
    assert (product.title, product.tags) == ("Blue mug", ["salt, pepper", "gift"])
    # Read as the CSV reads the column: blanks and repeats dropped, not refused.
    admin_client.post(url, change_form(admin_client, product, tags=" gift || gift|new| "))
    product.refresh_from_db()
    assert product.tags == ["gift", "new"]


def test_saving_a_page_loaded_before_another_change_is_refused(admin_client):
    """The page put back every field as it showed them: a stock feed's sell-out between loading
    and saving was undone (the product back in stock, nobody told)."""
    from catalog.admin import ERROR_CHANGED_MEANWHILE
    from catalog.models import Product

    add_product("MUG-1", "Red mug", image=image_bytes())
    product = Product.objects.get(sku="MUG-1")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    stale = change_form(admin_client, product, title="Blue mug")
    product.in_stock = False  # the stock feed's PATCH, while the page is open
    product.save()

    refused = admin_client.post(url, stale)

    assert refused.status_code == 200  # the page again, saying why
    assert ERROR_CHANGED_MEANWHILE in refused.content.decode()
    product.refresh_from_db()
    assert (product.title, product.in_stock) == ("Red mug", False)
    fresh = change_form(admin_client, product, title="Blue mug")
    assert admin_client.post(url, fresh).status_code == 302
    product.refresh_from_db()
    assert (product.title, product.in_stock) == ("Blue mug", False)


@pytest.mark.parametrize(
    ("field", "setting", "error"),
    [
        # The page takes uploads up to the largest limit: a 500 MB CSV was stored, said
        # "queued", then failed by the worker, the file kept on disk.
        ("csv_upload", "PRODSIM_MAX_CSV_BYTES", "the CSV file is larger than {} bytes"),
        # With the CSV's limit above the zip's, a zip between the two reached the service,
        # which refuses it before storing anything: a 500.
        (
            "images_upload",
            "PRODSIM_MAX_ARCHIVE_BYTES",
            "the images archive is larger than {} bytes",
        ),
    ],
)
def test_a_file_over_its_limit_is_a_field_error_not_a_failed_import(
    admin_client, settings, field, setting, error
):
    data = csv_bytes([{"sku": "A", "title": "Mug", "price": "1"}], header=["sku", "title", "price"])
    archive = zip_bytes({"a.jpg": image_bytes()})
    limit = (len(data) if field == "csv_upload" else len(archive)) - 1
    setattr(settings, setting, limit)

    response = upload(admin_client, data, archive)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error.format(limit)]
    assert not ImportJob.objects.exists()


def test_an_import_page_names_its_files_without_a_link_that_is_never_served(admin_client):
    response = upload(
        admin_client,
        csv_bytes([{"sku": "A", "title": "Mug", "price": "1"}], header=["sku", "title", "price"]),
        zip_bytes({"a.jpg": image_bytes()}),
    )
    job = ImportJob.objects.get()

    page = admin_client.get(response["Location"]).content.decode()

    assert job.csv_file.name in page and job.images_file.name in page
    assert 'href="/media/imports/' not in page


def test_categories_are_not_added_by_hand(admin_client):
    """Added here, a category was saved with an empty path and slug (read-only fields), listed
    on the storefront as a blank link; a second one was a 500 (the path is unique)."""
    assert admin_client.get(reverse("admin:catalog_category_add")).status_code == 403
