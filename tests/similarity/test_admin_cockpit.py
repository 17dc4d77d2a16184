"""The admin cockpit's controls: who may train, activate, roll back and cancel; the train form's
validation and enqueueing; the live progress endpoint; the rules' list of touched products."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from similarity.admin.jobs import CANCEL_MESSAGES
from similarity.admin_views.lifecycle import ACTIVATED, NOTHING_TO_ROLL_BACK_TO, ROLLED_BACK
from similarity.models import Job, MerchandisingRule, ModelVersion
from similarity.services import model_version_activate
from tests.catalog.factories import product
from tests.staff import login, non_staff_user, staff_user

pytestmark = pytest.mark.django_db

TRAIN_URL = reverse("admin:similarity_modelversion_add")
ROLLBACK_URL = reverse("admin:similarity_modelversion_rollback")
VALID_FORM = {
    "backbone": "small_cnn",
    "weights": "none",
    "input_size": 64,
    "embedding_dim": 32,
    "epochs": 3,
    "label_source": "category",
    "metric": "l2",
    "augmentation": "basic",
    "loss": "supcon",
    "finetune_fraction": 0.5,
    "learning_rate_schedule": "constant",
    "refit_on_all": "on",
    "refit_models": 2,
    "auto_activate": "",
}


def version(status="ready", **fields) -> ModelVersion:
    values = {"backbone": "small_cnn", "weights": "none", "input_size": 32, "embedding_dim": 8}
    return ModelVersion.objects.create(status=status, **{**values, **fields})


def activate_url(v: ModelVersion) -> str:
    return reverse("admin:similarity_modelversion_activate", args=[v.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def ml_queue_messages(settings) -> list[dict]:
    """The task messages waiting in this test run's `ml` queue on the real broker."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return [json.loads(raw) for raw in client.lrange(prefix + "ml", 0, -1)]


@pytest.fixture
def ml_queue(settings):
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "") + "ml"
    client.delete(key)
    yield lambda: ml_queue_messages(settings)
    client.delete(key)


# --- permissions ---------------------------------------------------------------------------------


def test_staff_without_the_train_permission_cannot_start_training(client):
    login(client, staff_user("similarity.view_modelversion", "similarity.add_modelversion"))

    assert client.get(TRAIN_URL).status_code == 403
    assert client.post(TRAIN_URL, VALID_FORM).status_code == 403

    assert (ModelVersion.objects.count(), Job.objects.count()) == (0, 0)


def test_staff_with_the_train_permission_train_and_watch_the_job(
    client, django_capture_on_commit_callbacks
):
    login(client, staff_user("similarity.train_model"))
    assert client.get(TRAIN_URL).status_code == 200

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(TRAIN_URL, VALID_FORM)

    job = Job.objects.get()
    assert response["Location"] == reverse("admin:similarity_job_change", args=[job.pk])
    assert len(callbacks) == 1
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        TRAIN_URL,
        ROLLBACK_URL,
        reverse("admin:similarity_modelversion_activate", args=[1]),
        reverse("admin:similarity_job_progress", args=[1]),
        reverse("admin:similarity_job_cancel", args=[1]),
    ],
)
def test_non_staff_are_sent_to_the_admin_login(client, url):
    login(client, non_staff_user())

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


# --- the train form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("epochs", "0", "Ensure this value is greater than or equal to 1."),
        ("embedding_dim", "4", "Ensure this value is greater than or equal to 8."),
        ("input_size", "1024", "Ensure this value is less than or equal to 512."),
        ("backbone", "resnet_9000", "Select a valid choice. resnet_9000 is not one of"),
    ],
)
def test_the_train_form_rejects_bad_parameters_and_enqueues_nothing(
    admin_client, django_capture_on_commit_callbacks, field, value, error
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(TRAIN_URL, {**VALID_FORM, field: value})

    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors[field])
    assert (ModelVersion.objects.count(), Job.objects.count(), len(callbacks)) == (0, 0, 0)


def test_the_train_form_enqueues_exactly_one_job_after_commit(
    admin_client, django_capture_on_commit_callbacks, ml_queue
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(TRAIN_URL, VALID_FORM)
    assert ml_queue() == []  # nothing is sent while the transaction is open

    for callback in callbacks:
        callback()

    job = Job.objects.get()
    [message] = ml_queue()
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "similarity.tasks.model_version_train_task"
    assert (args, kwargs) == ([job.pk], {})


# --- live progress and cancel --------------------------------------------------------------------


def running_job() -> Job:
    return Job.objects.create(
        kind="train",
        model_version=version("training"),
        state="running",
        progress={
            "phase": "training",
            "epoch": 2,
            "epochs": 5,
            "loss": 1.5,
            "val_recall_at_1": 0.75,
            "images_per_s": 40.0,
            "eta_s": 12,
        },
    )


def test_the_progress_endpoint_returns_the_jobs_real_state(admin_client):
    job = running_job()

    response = admin_client.get(reverse("admin:similarity_job_progress", args=[job.pk]))

    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    heartbeat = (body.pop("heartbeat"), body.pop("heartbeat_warning"))
    assert heartbeat == ("", "")  # made running by hand: no worker has claimed it
    assert body == {
        "id": job.pk,
        "kind": "train",
        "state": "running",
        "finished": False,
        "cancel_requested": False,
        "phase": "training",
        "epoch": 2,
        "epochs": 5,
        "loss": 1.5,
        "val_recall_at_1": 0.75,
        "images_per_s": 40.0,
        "eta_s": 12,
        "done": None,
        "total": None,
        "failed": 0,
        "error": "",
        "progress_summary": "training · epoch 2/5 loss 1.500 · val R@1 0.750 · 40.0 img/s · "
        "ETA 12 s",
    }

    Job.objects.filter(pk=job.pk).update(
        state="failed",
        error="boom",
        progress={"phase": "embedding", "done": 30, "total": 40, "failed": 2},
    )
    later = admin_client.get(reverse("admin:similarity_job_progress", args=[job.pk])).json()
    assert (later["state"], later["finished"], later["done"], later["total"]) == (
        "failed",
        True,
        30,
        40,
    )
    assert (later["failed"], later["error"], later["epoch"]) == (2, "boom", None)


def test_the_progress_endpoint_needs_the_view_or_train_permission(client):
    job = running_job()
    login(client, staff_user("similarity.view_modelversion", "similarity.activate_model"))

    response = client.get(reverse("admin:similarity_job_progress", args=[job.pk]))

    assert response.status_code == 403


def test_the_job_page_polls_instead_of_reloading_and_offers_cancel(admin_client):
    job = running_job()

    page = admin_client.get(reverse("admin:similarity_job_change", args=[job.pk])).content.decode()

    assert 'http-equiv="refresh"' not in page
    assert 'src="/static/js/job_progress.js"' in page
    assert f'data-progress-url="/admin/similarity/job/{job.pk}/progress/"' in page
    assert '<td data-progress-field="loss" data-progress-format="fixed3">1.500</td>' in page
    assert f'action="/admin/similarity/job/{job.pk}/cancel/"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_cancel_button_asks_the_worker_to_stop(admin_client):
    job = running_job()
    url = reverse("admin:similarity_job_cancel", args=[job.pk])

    assert admin_client.get(url).status_code == 405  # a state change is never a GET
    response = admin_client.post(url, follow=True)

    job.refresh_from_db()
    assert job.cancel_requested is True
    assert messages_of(response) == [CANCEL_MESSAGES.requested.format(pk=job.pk)]


def test_staff_without_the_train_permission_cannot_cancel(client):
    job = running_job()
    login(client, staff_user("similarity.view_job", "similarity.change_job"))

    page = client.get(reverse("admin:similarity_job_change", args=[job.pk])).content.decode()
    response = client.post(reverse("admin:similarity_job_cancel", args=[job.pk]))

    assert "cancel/" not in page
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.cancel_requested is False


# --- activation and rollback ---------------------------------------------------------------------


def test_activation_asks_for_confirmation_then_switches(admin_client):
    old, new = version("ready", metrics={"model": {"recall_at_1": 0.5}}), version("ready")
    model_version_activate(version=old)

    confirmation = admin_client.get(activate_url(new))
    assert ModelVersion.objects.get(pk=new.pk).status == "ready"  # GET changes nothing
    assert f"Yes, activate v{new.pk}" in confirmation.content.decode()
    assert confirmation.context["current"] == old

    response = admin_client.post(activate_url(new), follow=True)

    statuses = dict(ModelVersion.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "ready", new.pk: "active"}
    assert messages_of(response) == [ACTIVATED.format(pk=new.pk, previous=old.pk)]


def test_the_activate_action_leads_to_the_confirmation(admin_client):
    v = version("ready")

    response = admin_client.post(
        reverse("admin:similarity_modelversion_changelist"),
        {"action": "activate", "_selected_action": [v.pk]},
    )

    assert response["Location"] == activate_url(v)
    assert ModelVersion.objects.get(pk=v.pk).status == "ready"


def test_an_unfinished_version_is_not_activated(admin_client):
    v = version("training")

    page = admin_client.get(activate_url(v)).content.decode()
    response = admin_client.post(activate_url(v), follow=True)

    assert "only a ready or archived version can be activated" in page
    assert messages_of(response) == [
        f"version v{v.pk} is training; only a ready or archived version can be activated"
    ]
    assert ModelVersion.objects.get(pk=v.pk).status == "training"


def test_rollback_reactivates_the_previous_version(admin_client):
    first, second = version("ready"), version("ready")
    model_version_activate(version=first)
    model_version_activate(version=second)

    version_page = admin_client.get(
        reverse("admin:similarity_modelversion_change", args=[second.pk])
    ).content.decode()
    confirmation = admin_client.get(ROLLBACK_URL)
    shown = {"target": first.pk, "shown_active": second.pk}  # as the confirmation sends them
    response = admin_client.post(ROLLBACK_URL, shown, follow=True)

    assert f'href="{ROLLBACK_URL}">Roll back to v{first.pk}…</a>' in version_page
    assert f"Yes, roll back to v{first.pk}" in confirmation.content.decode()
    assert dict(ModelVersion.objects.values_list("pk", "status")) == {
        first.pk: "active",
        second.pk: "ready",
    }
    assert messages_of(response) == [ROLLED_BACK.format(pk=first.pk, previous=second.pk)]


def test_rollback_without_an_earlier_version_says_so(admin_client):
    only = version("ready")
    model_version_activate(version=only)

    response = admin_client.get(ROLLBACK_URL, follow=True)

    assert messages_of(response) == [NOTHING_TO_ROLL_BACK_TO]
    assert ModelVersion.objects.get(pk=only.pk).status == "active"


def test_staff_without_the_activate_permission_get_403_and_no_button(client):
    first, second = version("ready"), version("ready")
    model_version_activate(version=first)
    login(client, staff_user("similarity.view_modelversion", "similarity.change_modelversion"))

    page = client.get(reverse("admin:similarity_modelversion_change", args=[second.pk]))
    changelist = client.get(reverse("admin:similarity_modelversion_changelist"))

    assert activate_url(second) not in page.content.decode()
    assert 'value="activate"' not in changelist.content.decode()
    assert client.get(activate_url(second)).status_code == 403
    assert client.post(activate_url(second)).status_code == 403
    assert client.post(ROLLBACK_URL).status_code == 403
    assert dict(ModelVersion.objects.values_list("pk", "status")) == {
        first.pk: "active",
        second.pk: "ready",
    }


def test_staff_with_the_activate_permission_activate(client):
    v = version("ready")
    login(client, staff_user("similarity.view_modelversion", "similarity.activate_model"))

    page = client.get(reverse("admin:similarity_modelversion_change", args=[v.pk]))
    client.post(activate_url(v))

    assert f'href="{activate_url(v)}">Activate v{v.pk}…</a>' in page.content.decode()
    assert ModelVersion.objects.get(pk=v.pk).status == "active"


# --- merchandising rules -------------------------------------------------------------------------


def test_rules_list_their_source_targets_validity_and_whether_in_force(admin_client):
    source = product(sku="MUG-1", title="Red mug")
    target = product(sku="MUG-2", title="Blue mug")
    now = timezone.now()
    pin = MerchandisingRule.objects.create(
        kind="pin", source_product=source, target_product=target, position=1
    )
    expired = MerchandisingRule.objects.create(
        kind="boost",
        brand="Acme",
        valid_from=now - timedelta(days=10),
        valid_until=now - timedelta(days=1),
    )

    page = admin_client.get(reverse("admin:similarity_merchandisingrule_changelist"))

    html = page.content.decode()
    source_url = reverse("admin:catalog_product_change", args=[source.pk])
    target_url = reverse("admin:catalog_product_change", args=[target.pk])
    assert f'<td class="field-applies_to"><a href="{source_url}">MUG-1 – Red mug</a></td>' in html
    assert f'<td class="field-touches"><a href="{target_url}">MUG-2 – Blue mug</a></td>' in html
    assert '<td class="field-touches">brand Acme</td>' in html
    rows = {rule.pk: rule for rule in page.context["cl"].result_list}
    admin = page.context["cl"].model_admin
    assert (admin.in_force_now(rows[pin.pk]), admin.in_force_now(rows[expired.pk])) == (
        True,
        False,
    )


def test_a_boost_rule_page_lists_the_products_it_touches(admin_client):
    acme = product(sku="A-1", title="Acme mug", brand="ACME")
    tagged = product(sku="T-1", title="Striped mug", tags=["Striped"])
    product(sku="O-1", title="Other mug", brand="Other")
    rule = MerchandisingRule.objects.create(kind="boost", brand="acme", tag="striped")

    page = admin_client.get(
        reverse("admin:similarity_merchandisingrule_change", args=[rule.pk])
    ).content.decode()

    acme_url = reverse("admin:catalog_product_change", args=[acme.pk])
    tagged_url = reverse("admin:catalog_product_change", args=[tagged.pk])
    assert (
        f'2 active product(s):<br><a href="{acme_url}">A-1 – Acme mug</a><br>'
        f'<a href="{tagged_url}">T-1 – Striped mug</a>'
    ) in page
    assert "O-1" not in page
