import pytest
from django.urls import reverse

from similarity.models import Job, ModelVersion
from similarity.services import model_version_activate

pytestmark = pytest.mark.django_db


def test_the_train_form_creates_a_version_and_queues_its_job(
    admin_client, django_capture_on_commit_callbacks
):
    form = {
        "backbone": "small_cnn",
        "weights": "none",
        "input_size": 64,
        "embedding_dim": 32,
        "epochs": 3,
        "label_source": "category",
        "metric": "l2",
        "augmentation": "phone",
        "loss": "proxy_anchor",
        "finetune_fraction": 0.3,
        "learning_rate_schedule": "cosine",
        "refit_on_all": "",
        "refit_models": 3,
        "auto_activate": "",
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("admin:similarity_modelversion_add"), form)

    version = ModelVersion.objects.get()
    job = Job.objects.get()
    assert response["Location"] == reverse("admin:similarity_job_change", args=[job.pk])
    assert (
        version.backbone,
        version.input_size,
        version.embedding_dim,
        version.metric,
        version.label_source,
        version.auto_activate,
        version.params["epochs"],
        version.params["refit_models"],
    ) == ("small_cnn", 64, 32, "l2", "category", False, 3, 3)
    recipe = ("augmentation", "loss", "finetune_fraction", "learning_rate_schedule", "refit_on_all")
    assert [version.params[name] for name in recipe] == [
        "phone",
        "proxy_anchor",
        0.3,
        "cosine",
        False,
    ]
    assert (job.kind, job.state, len(callbacks)) == ("train", "queued", 1)


def test_job_page_shows_progress_refreshes_and_can_be_cancelled(admin_client):
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="training"
    )
    job = Job.objects.create(
        kind="train",
        model_version=version,
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

    page = admin_client.get(reverse("admin:similarity_job_change", args=[job.pk])).content.decode()
    assert "training · epoch 2/5 loss 1.500 · val R@1 0.750 · 40.0 img/s · ETA 12 s" in page
    assert 'data-progress-url="' in page  # static/js/job_progress.js polls: no meta refresh

    admin_client.post(
        reverse("admin:similarity_job_changelist"),
        {"action": "cancel", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    assert job.cancel_requested is True


def test_version_page_shows_metrics_against_baselines(admin_client):
    version = ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status="ready",
        metrics={"model": {"recall_at_1": 0.9}, "colour_histogram": {"recall_at_1": 0.4}},
    )

    changelist = admin_client.get(reverse("admin:similarity_modelversion_changelist")).content
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[version.pk]))

    assert b"0.900" in changelist and b"0.400" in changelist
    assert "<tr><th>colour_histogram</th><td>0.400</td>" in page.content.decode()


def test_activate_action_confirms_then_activates(admin_client):
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="ready"
    )
    admin_client.post(
        reverse("admin:similarity_modelversion_changelist"),
        {"action": "activate", "_selected_action": [version.pk]},
        follow=True,
    )
    admin_client.post(reverse("admin:similarity_modelversion_activate", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == "active"


TRAIN_FORM = {
    "backbone": "small_cnn",
    "input_size": 32,
    "embedding_dim": 8,
    "epochs": 2,
    "label_source": "auto",
    "metric": "cosine",
    "augmentation": "basic",
    "loss": "supcon",
    "finetune_fraction": 0.5,
    "learning_rate_schedule": "constant",
    "refit_models": 1,
}


@pytest.mark.parametrize("weights", ["imgnet", "/nonexistent/model.weights.h5"])
def test_the_train_form_refuses_weights_training_cannot_read(admin_client, weights):
    """They failed the job only after it had decoded the whole catalogue."""
    form = {**TRAIN_FORM, "weights": weights}

    response = admin_client.post(reverse("admin:similarity_modelversion_add"), form)

    assert response.status_code == 200  # the form again, with the error
    assert "must be imagenet, auto, none or the path" in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_the_train_form_refuses_models_side_by_side_too_long_for_an_index(admin_client):
    """Each field was within its bounds: the version's creation refused them together, and the
    save answered with an error page."""
    form = {**TRAIN_FORM, "weights": "none", "embedding_dim": 1200, "refit_on_all": "on"}
    form["refit_models"] = 2

    response = admin_client.post(reverse("admin:similarity_modelversion_add"), form)

    assert response.status_code == 200  # the form again, with the error at its field
    errors = response.context["adminform"].form.errors
    assert errors["refit_models"] == [
        "makes 2400-dimension vectors (2 models side by side), over the 2000 an HNSW index "
        "takes: lower embedding_dim or refit_models"
    ]
    assert not ModelVersion.objects.exists()


def test_the_train_form_takes_a_weights_keyword_in_any_case(admin_client):
    form = {**TRAIN_FORM, "weights": "ImageNet "}

    admin_client.post(reverse("admin:similarity_modelversion_add"), form)

    assert ModelVersion.objects.get().weights == "imagenet"


def test_the_train_form_takes_the_path_of_an_existing_weights_file(admin_client, tmp_path):
    weights = tmp_path / "shop.weights.h5"
    weights.write_bytes(b"")

    admin_client.post(
        reverse("admin:similarity_modelversion_add"), {**TRAIN_FORM, "weights": str(weights)}
    )

    assert ModelVersion.objects.get().weights == str(weights)


@pytest.mark.parametrize("model", ["merchandisingrule", "fusionweights"])
def test_curation_admin_pages_render(admin_client, model):
    assert admin_client.get(reverse(f"admin:similarity_{model}_add")).status_code == 200
    assert admin_client.get(reverse(f"admin:similarity_{model}_changelist")).status_code == 200


def test_the_train_form_starts_from_the_shops_training_defaults(admin_client, settings):
    settings.PRODSIM_TRAINING_DEFAULTS = {"epochs": 20, "augmentation": "phone"}

    form = admin_client.get(reverse("admin:similarity_modelversion_add")).context["adminform"].form

    assert (form.initial["epochs"], form.initial["augmentation"]) == (20, "phone")
    assert form.initial["loss"] == "supcon"


@pytest.mark.parametrize("auto", [True, False])
def test_the_train_forms_auto_activate_box_starts_as_the_shop_set_it(admin_client, settings, auto):
    """The box was always ticked: saved as it came, a shop with PRODSIM_AUTO_ACTIVATE off got
    its admin-trained versions activated."""
    settings.PRODSIM_AUTO_ACTIVATE = auto

    form = admin_client.get(reverse("admin:similarity_modelversion_add")).context["adminform"].form

    assert form.initial["auto_activate"] is auto


def test_a_version_page_is_view_only_with_its_lifecycle_buttons(admin_client):
    """Saving an existing version ran the train form's path (a 500); the page is a record whose
    state changes only by activate, roll back and delete."""
    first, second = (
        ModelVersion.objects.create(
            backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="ready"
        )
        for _ in range(2)
    )
    model_version_activate(version=first)
    model_version_activate(version=second)
    third = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="ready"
    )

    def page(version):
        return admin_client.get(reverse("admin:similarity_modelversion_change", args=[version.pk]))

    active, ready = page(second).content.decode(), page(third).content.decode()
    saved = admin_client.post(reverse("admin:similarity_modelversion_change", args=[third.pk]), {})

    assert f"Roll back to v{first.pk}…" in active and f"Activate v{third.pk}…" in ready
    assert 'name="_save"' not in ready
    assert reverse("admin:similarity_modelversion_delete", args=[third.pk]) in ready
    assert saved.status_code == 403
    assert (ModelVersion.objects.count(), Job.objects.count()) == (3, 0)


def test_a_job_page_is_view_only_its_worker_alone_writes_the_row(admin_client):
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="training"
    )
    job = Job.objects.create(kind="train", model_version=version, state="running")
    url = reverse("admin:similarity_job_change", args=[job.pk])
    loaded = admin_client.get(url).content.decode()
    Job.objects.filter(pk=job.pk).update(state="succeeded")  # the worker ends it meanwhile

    saved = admin_client.post(url, {})

    assert 'name="_save"' not in loaded and saved.status_code == 403
    assert Job.objects.get(pk=job.pk).state == "succeeded"
