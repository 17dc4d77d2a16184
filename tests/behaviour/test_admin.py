"""The behaviour admin: upload an order or event history as a job, follow it live, read its
per-line report, cancel it; the refresh history, read-only."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from behaviour.models import BehaviourRefresh, EventImportJob, EventImportRowError
from behaviour.services.imports import event_import_job_run
from core.jobs.heartbeat import worker_name
from tests.catalog.factories import product
from tests.staff import login, non_staff_user, staff_user

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:behaviour_eventimportjob_add")
UPLOAD = "behaviour.upload_events"
AT = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0).isoformat()
ORDERS = (
    "order_id,occurred_at,visitor_id,sku,quantity,unit_price\n"
    f"o1,{AT},v1,A,1,2.50\n"
    f"o2,{AT},v1,NOPE,1,2.50\n"
).encode()


def upload(client, data: bytes = ORDERS, time_zone: str = ""):
    csv_upload = SimpleUploadedFile("orders.csv", data, "text/csv")
    return client.post(ADD_URL, {"csv_upload": csv_upload, "time_zone": time_zone})


def page_of(job: EventImportJob, view: str = "change") -> str:
    return reverse(f"admin:behaviour_eventimportjob_{view}", args=[job.pk])


def test_an_upload_is_queued_after_commit_and_its_page_shows_the_report(
    admin_client, django_capture_on_commit_callbacks
):
    product(sku="A")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(admin_client, time_zone="Europe/London")

    job = EventImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_of(job)
    assert (job.state, job.created_by.username, job.time_zone) == (
        "queued",
        "admin",
        "Europe/London",
    )
    assert len(callbacks) == 1

    event_import_job_run(job_id=job.pk)
    page = admin_client.get(response["Location"]).content.decode()
    assert "unknown SKU &#x27;NOPE&#x27;: import the catalogue first" in page
    assert "1 problem(s);" in page
    assert 'data-finished="true"' in page  # the script does not poll a finished job
    assert 'id="cancel-import"' not in page


def test_a_csv_over_the_csv_cap_is_refused_by_the_form_saying_why(
    admin_client, settings, media_root
):
    # The page's per-file cap was the 2 GB archive cap: the CSV was stored and imported whole.
    settings.PRODSIM_MAX_CSV_BYTES = len(ORDERS) - 1

    response = upload(admin_client)

    assert response.status_code == 200
    error = f"the CSV file is {len(ORDERS)} bytes, larger than PRODSIM_MAX_CSV_BYTES"
    assert error in response.content.decode()
    assert EventImportJob.objects.count() == 0
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_a_csv_whose_name_is_too_long_for_the_disk_is_stored_under_a_shorter_one(admin_client):
    # 90 Japanese characters are 270 bytes, past a file system's 255: the upload was a 500.
    product(sku="A")
    long_name = "注文履歴データ" * 13
    csv_upload = SimpleUploadedFile(f"{long_name}.csv", ORDERS, "text/csv")

    response = admin_client.post(ADD_URL, {"csv_upload": csv_upload, "time_zone": ""})

    assert response.status_code == 302
    job = EventImportJob.objects.get()
    stored = Path(job.csv_file.name)
    stem, random_part = stored.stem.rsplit("_", 1)  # the first 100 bytes, then a random part
    assert (stem, len(random_part), stored.suffix) == (long_name[:33], 7, ".csv")
    assert event_import_job_run(job_id=job.pk).state == "succeeded"


def test_the_delete_confirmation_counts_an_imports_problems_instead_of_listing_them(
    admin_client, django_assert_max_num_queries
):
    # One item per problem: 100k of them made a page of seconds and megabytes.
    job = EventImportJob.objects.create(state=EventImportJob.State.FAILED)
    EventImportRowError.objects.bulk_create(
        EventImportRowError(job=job, line=n + 2, column="sku", level="row", message="unknown")
        for n in range(500)
    )

    with django_assert_max_num_queries(20):
        page = admin_client.get(page_of(job, "delete"))

    html = page.content.decode()
    assert page.status_code == 200 and "500 problem(s) reported by this import" in html
    assert "line 501: unknown" not in html
    assert f'href="{page_of(job)}"' in html


def test_a_queued_job_page_polls_its_progress_without_reloading(admin_client):
    upload(admin_client)
    job = EventImportJob.objects.get()

    html = admin_client.get(page_of(job)).content.decode()

    assert 'http-equiv="refresh"' not in html
    assert 'src="/static/js/job_progress.js"' in html
    assert f'data-progress-url="/admin/behaviour/eventimportjob/{job.pk}/progress/"' in html
    assert 'data-finished="false"' in html
    assert 'id="cancel-import"' in html


def test_the_progress_endpoint_returns_the_imports_real_state(admin_client):
    product(sku="A")
    upload(admin_client)
    job = EventImportJob.objects.get()
    url = page_of(job, "progress")
    queued = admin_client.get(url).json()

    event_import_job_run(job_id=job.pk)
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
        "accepted_count": 1,
        "duplicate_count": 0,
        "rejected_count": 1,
        "errors": 1,
        "error": "",
        "heartbeat_warning": "",
    }


def test_rate_and_eta_while_running(admin_client):
    job = EventImportJob.objects.create(state="running", rows_total=100_000, rows_done=40_000)
    started = timezone.now() - dt.timedelta(seconds=2)
    EventImportJob.objects.filter(pk=job.pk).update(started_at=started)

    progress = admin_client.get(page_of(job, "progress")).json()

    # The page read its clock between 2 s after the start and now (a loaded machine can take a
    # noticeable part of a second to answer): 40,000 lines over that time, 60,000 left.
    elapsed = (timezone.now() - started).total_seconds()
    assert 40_000 / elapsed - 0.05 <= progress["rows_per_s"] <= 20_000
    assert 3 <= progress["eta_s"] <= 60_000 / (40_000 / elapsed) + 0.5


def test_the_problems_download_has_every_listed_problem(admin_client):
    product(sku="A")
    upload(admin_client)
    job = EventImportJob.objects.get()
    event_import_job_run(job_id=job.pk)

    response = admin_client.get(page_of(job, "problems"))

    assert response["Content-Disposition"] == f'attachment; filename="event-import-{job.pk}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["line", "level", "column", "sku", "message"]
    assert [row[:4] for row in rows[1:]] == [["3", "row", "sku", "NOPE"]]


def test_an_unknown_time_zone_is_a_form_error(admin_client):
    response = upload(admin_client, time_zone="Mars/Olympus")

    assert response.status_code == 200
    assert "unknown time zone &#x27;Mars/Olympus&#x27;" in response.content.decode()
    assert EventImportJob.objects.count() == 0


def test_staff_without_the_upload_permission_cannot_upload(client):
    login(client, staff_user("behaviour.add_eventimportjob", "behaviour.view_eventimportjob"))

    assert client.get(ADD_URL).status_code == 403
    assert upload(client).status_code == 403
    assert EventImportJob.objects.count() == 0


def test_staff_with_the_upload_permission_upload_follow_and_cancel(client):
    login(client, staff_user(UPLOAD))

    response = upload(client)
    job = EventImportJob.objects.get()
    assert client.get(response["Location"]).status_code == 200
    assert client.get(page_of(job, "progress")).json()["state"] == "queued"

    cancelled = client.post(page_of(job, "cancel"), follow=True)

    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("cancelled", True)
    assert (
        f"Event import #{job.pk} was still queued: cancelled, nothing was imported."
        in cancelled.content.decode()
    )


def test_cancelling_a_running_import_asks_it_to_stop(admin_client):
    job = EventImportJob.objects.create(state="running", rows_total=100, rows_done=10)

    response = admin_client.post(page_of(job, "cancel"), follow=True)

    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("running", True)
    page = response.content.decode()
    assert f"Cancellation of event import #{job.pk} requested; it stops within 5000 lines." in page
    assert "Cancellation requested: the import stops after the chunks in flight" in page


def test_viewing_imports_is_not_enough_to_cancel_one(client):
    job = EventImportJob.objects.create()
    login(client, staff_user("behaviour.view_eventimportjob"))
    page = client.get(page_of(job)).content.decode()

    response = client.post(page_of(job, "cancel"))

    assert 'id="cancel-import"' not in page
    assert response.status_code == 403
    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("queued", False)


def test_staff_without_any_import_permission_cannot_follow_imports(client):
    job = EventImportJob.objects.create()
    login(client, staff_user("catalog.view_product"))

    assert client.get(page_of(job, "progress")).status_code == 403
    assert client.get(page_of(job, "problems")).status_code == 403


def test_non_staff_are_sent_to_the_admin_login(client):
    login(client, non_staff_user())

    response = client.get(ADD_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={ADD_URL}"


def test_the_refresh_history_is_listed_read_only(admin_client):
    refresh = BehaviourRefresh.objects.create(
        started_at=timezone.now(), state="succeeded", stats={"orders": 3}
    )

    listing = admin_client.get(reverse("admin:behaviour_behaviourrefresh_changelist"))
    change = admin_client.get(reverse("admin:behaviour_behaviourrefresh_change", args=[refresh.pk]))
    add = admin_client.get(reverse("admin:behaviour_behaviourrefresh_add"))
    delete = admin_client.get(reverse("admin:behaviour_behaviourrefresh_delete", args=[refresh.pk]))

    assert listing.status_code == 200 and "succeeded" in listing.content.decode()
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert (add.status_code, delete.status_code) == (403, 403)


def test_delete_selected_deletes_the_ended_imports_and_keeps_the_running_ones(admin_client):
    """A running import in the selection made the confirmation say that even a superuser
    lacked the permission, and nothing could be deleted with it (as catalogue imports did)."""
    upload(admin_client)
    upload(admin_client)
    ended, running = EventImportJob.objects.order_by("pk")
    EventImportJob.objects.filter(pk=running.pk).update(state=EventImportJob.State.RUNNING)
    selected = {"action": "delete_selected", "_selected_action": [ended.pk, running.pk]}
    list_url = reverse("admin:behaviour_eventimportjob_changelist")

    page = admin_client.post(list_url, selected).content.decode()
    response = admin_client.post(list_url, {**selected, "post": "yes"}, follow=True)

    assert "permission" not in page and "cancel them first" in page
    assert "1 running import(s) were not deleted: cancel them first" in response.content.decode()
    assert list(EventImportJob.objects.values_list("pk", flat=True)) == [running.pk]


def test_an_import_page_names_its_file_without_a_link_that_is_never_served(admin_client):
    upload(admin_client)
    job = EventImportJob.objects.get()

    page = admin_client.get(page_of(job)).content.decode()

    assert job.csv_file.name in page and 'href="/media/imports/' not in page
