"""The cockpit walked once in the test client, as an admin does it: upload → train a tiny model →
its progress JSON → the version page (compare) → preview → judge → activate → train again →
activate → roll back. Tasks run eagerly here; tests/test_browser.py walks it on a real worker."""

import re

import pytest
from django.urls import reverse

from similarity.models import Job, ModelVersion
from tests.catalog.factories import shape_catalogue_files

pytestmark = pytest.mark.django_db

TRAIN_FORM = {
    "backbone": "small_cnn",
    "weights": "none",
    "input_size": 32,
    "embedding_dim": 8,
    "epochs": 2,
    "label_source": "group",
    "metric": "cosine",
    "augmentation": "basic",
    "loss": "supcon",
    "finetune_fraction": 0.5,
    "learning_rate_schedule": "constant",
    "refit_on_all": "on",
    "refit_models": 1,
    "auto_activate": "",
}


@pytest.fixture
def eager(settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    """Tasks enqueued on commit run at once, in this process."""
    from prodsim_site.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    # The form has no batch-shape fields: the tiny catalogue's 8 groups need small batches.
    settings.PRODSIM_TRAINING_DEFAULTS = {
        "labels_per_batch": 4,
        "images_per_label": 2,
        "min_epoch_images": 0,
    }
    return lambda: django_capture_on_commit_callbacks(execute=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def field(page, name: str) -> str:
    """The text of one read-only field of an admin change page."""
    html = page.content.decode()
    start = html.index(">", html.index(f"field-{name}")) + 1
    block = html[start : html.index('<div class="form-row', start)]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block)).strip()


def train(admin_client, eager, **overrides) -> tuple[ModelVersion, Job]:
    with eager():
        response = admin_client.post(
            reverse("admin:similarity_modelversion_add"), {**TRAIN_FORM, **overrides}
        )
    job = Job.objects.get(pk=re.search(r"/job/(\d+)/change/", response["Location"])[1])
    return job.model_version, job


def test_the_cockpit_walk(admin_client, eager, tmp_path):
    csv_path, zip_path = shape_catalogue_files(tmp_path)
    with eager(), open(csv_path, "rb") as csv_file, open(zip_path, "rb") as zip_file:
        response = admin_client.post(
            reverse("admin:catalog_importjob_add"),
            {"csv_upload": csv_file, "images_upload": zip_file},
        )
    imported = admin_client.get(response["Location"].replace("/change/", "/progress/")).json()
    assert (imported["state"], imported["rows_done"], imported["images_added"]) == (
        "succeeded",
        24,
        24,
    )

    v1, job = train(admin_client, eager)
    progress = admin_client.get(reverse("admin:similarity_job_progress", args=[job.pk])).json()
    assert (progress["state"], progress["finished"], progress["phase"]) == (
        "succeeded",
        True,
        "done",
    )
    assert (progress["epoch"], progress["epochs"], progress["done"], progress["total"]) == (
        2,
        2,
        24,
        24,
    )
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[v1.pk]))
    assert field(page, "serving") == f"Serving: Activate v{v1.pk}…"
    assert field(page, "dataset_summary").startswith(
        "Dataset: 24 images (train 15 / validation 3 / test 6), 8 labels (group), sha256 "
    )
    listed = admin_client.get(reverse("admin:similarity_modelversion_changelist"))
    v1.refresh_from_db()
    best = max(v1.metrics[name]["recall_at_1"] for name in ("colour_histogram", "random_init"))
    best = max(best, v1.metrics["backbone_untrained"]["recall_at_1"])
    assert f'<td class="field-baseline_recall_at_1">{best:.3f}</td>' in listed.content.decode()

    activated = admin_client.post(
        reverse("admin:similarity_modelversion_activate", args=[v1.pk]), follow=True
    )
    assert messages_of(activated) == [f"v{v1.pk} is now active."]

    v2, _ = train(admin_client, eager, epochs=1)
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[v2.pk]))
    assert f"v{v1.pk} (active)" in field(page, "comparison")
    preview = reverse("similarity_admin:preview") + f"?candidate={v2.pk}&sku=SQUARE-0-0"
    shown = admin_client.get(preview).context
    assert [len(column["items"]) for column in shown["columns"]] == [10, 10]
    source, target = shown["product"], shown["columns"][1]["items"][0].product
    judged = admin_client.post(
        reverse("similarity_admin:judge"),
        {"source": source.pk, "target": target.pk, "verdict": "good", "next": preview},
        follow=True,
    )
    assert messages_of(judged) == [f"SQUARE-0-0 → {target.sku}: good"]
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[v2.pk]))
    assert "Shapes &gt; square 1 1.000 1 / 10" in field(page, "gold_set")  # v2: 1 of 10 judged

    activated = admin_client.post(
        reverse("admin:similarity_modelversion_activate", args=[v2.pk]), follow=True
    )
    assert messages_of(activated) == [
        f"v{v2.pk} is now active; v{v1.pk} stays ready for a rollback."
    ]
    shown = {"target": v1.pk, "shown_active": v2.pk}  # what the confirmation page sends
    rolled_back = admin_client.post(
        reverse("admin:similarity_modelversion_rollback"), shown, follow=True
    )

    assert messages_of(rolled_back) == [
        f"Rolled back: v{v1.pk} is active again; v{v2.pk} stays ready."
    ]
    statuses = dict(ModelVersion.objects.values_list("pk", "status"))
    assert statuses == {v1.pk: "active", v2.pk: "ready"}
