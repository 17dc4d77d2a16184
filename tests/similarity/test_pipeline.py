"""The training pipeline end to end on a tiny catalogue: real TensorFlow, PostgreSQL, pgvector."""

import json
from pathlib import Path

import pytest

from catalog.models import ProductImage
from similarity import vector_store
from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.models import ImageEmbedding, Job, ModelVersion, ProductEmbedding
from similarity.selectors import job_progress
from similarity.services import model_version_create, pipeline
from similarity.services.evaluation import ERROR_REFIT
from similarity.services.pipeline import job_run
from similarity.services.training_notes import NOTE_UNMEASURED
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import TINY, train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def test_training_embeds_indexes_and_activates_the_first_version(models_root):
    products = shape_catalogue(groups_per_shape=2, colours=3)  # 24 products, 8 groups

    version, job = train_tiny()

    assert (job.state, job.attempts, version.status) == ("succeeded", 1, "active")
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24
    assert ProductEmbedding.objects.filter(model_version=version).count() == 24
    assert vector_store.hnsw_index_exists(version=version) is True
    assert set(version.metrics) == {
        "model",
        "colour_histogram",
        "backbone_untrained",
        "random_init",
        "text_to_image",
        "text_to_image_untrained",
        "protocols",
        "evaluation",
    }
    # The deciding protocol's rows are the top-level ones every page reads.
    deciding = version.metrics["evaluation"]["protocol"]
    assert version.metrics["model"] == version.metrics["protocols"][deciding]["model"]
    assert version.metrics["evaluation"]["figures_from"] == "selection run"
    assert "refit_s" in version.timings
    with_text = ProductEmbedding.objects.filter(model_version=version, text_embedding__isnull=False)
    assert with_text.count() == 24
    test_products = set(
        ProductImage.objects.filter(pk__in=version.dataset["test_image_ids"]).values_list(
            "product_id", flat=True
        )
    )
    assert version.metrics["text_to_image"]["queries"] == len(test_products)
    new_products = version.metrics["protocols"]["new_products"]["model"]
    assert new_products["queries"] == len(version.dataset["test_image_ids"])
    assert [entry["epoch"] for entry in version.history] == [1, 2]
    assert version.dataset["label_source"] == "group"
    assert sum(version.dataset["images"].values()) == 24
    files = {path.name for path in (models_root / f"v{version.pk}").iterdir()}
    assert {"model.keras", "model.tflite", "metadata.json", "text_tower.npz"} <= files
    metadata = json.loads((models_root / f"v{version.pk}" / "metadata.json").read_text())
    assert (metadata["backbone"], metadata["embedding_dim"], metadata["metric"]) == (
        "small_cnn",
        8,
        "cosine",
    )
    assert metadata["tflite_max_abs_difference"] < 1e-3
    neighbours = vector_store.nearest_products(
        version=version,
        vector=vector_store.product_vector(version=version, product_id=products[0].pk),
        k=5,
    )
    assert neighbours[0].product_id == products[0].pk
    assert len(neighbours) == 5


def test_the_live_page_shows_no_eta_of_a_finished_phase(monkeypatch):
    """The selection run's last epoch reports ETA 0 s; the page went on showing it through the
    evaluation, both refits, the export and the embedding: most of the job."""
    shape_catalogue(groups_per_shape=2, colours=3)
    seen = {}
    real_evaluate = pipeline._evaluate

    def evaluate(version, *args):
        seen["evaluating"] = job_progress(job=Job.objects.get(model_version=version))
        return real_evaluate(version, *args)

    monkeypatch.setattr(pipeline, "_evaluate", evaluate)

    version, job = train_tiny()

    assert version.history[-1]["eta_s"] == 0  # what the selection run's last report said
    assert (seen["evaluating"]["phase"], seen["evaluating"]["eta_s"]) == ("evaluating", None)


def test_a_second_version_that_is_not_better_stays_ready(settings):
    shape_catalogue(groups_per_shape=2, colours=3)
    first, _ = train_tiny()
    ModelVersion.objects.filter(pk=first.pk).update(  # unbeatable, and measured alike
        metrics={"model": {"recall_at_1": 1.01}, "evaluation": first.metrics["evaluation"]}
    )

    second, job = train_tiny(embedding_dim=16)

    assert (job.state, second.status) == ("succeeded", "ready")
    first.refresh_from_db()
    assert first.status == "active"
    # Versions of different dimensions coexist, each with its own index and rows.
    assert ImageEmbedding.objects.filter(model_version=second).count() == 24
    assert vector_store.hnsw_index_exists(version=second) is True


@pytest.mark.parametrize(("first_refit", "second_status"), [(True, "active"), (False, "ready")])
def test_auto_activation_compares_only_figures_of_the_same_kind(first_refit, second_status):
    shape_catalogue(groups_per_shape=2, colours=3)  # one photo per product: refit figures are
    first, _ = train_tiny()  # the selection run's
    evaluation = {"protocol": NEW_PRODUCTS, "refit_on_all": first_refit}
    ModelVersion.objects.filter(pk=first.pk).update(  # beaten by any figure
        metrics={"model": {"recall_at_1": -1.0}, "evaluation": evaluation}
    )

    second, job = train_tiny()

    # Not refit, the first's figure is its served model's: the second's selection-run figure,
    # a lower bound, is not set against it.
    assert second.metrics["evaluation"]["figures_from"] == "selection run"
    assert (job.state, second.status) == ("succeeded", second_status)
    decided = Job.objects.get(pk=job.pk).log.splitlines()[-1]
    if second_status == "active":
        assert decided.startswith("activated: R@1 ")
    else:
        assert decided == (
            f"left ready: its figures are the selection run's, active v{first.pk}'s the served "
            "model's; compare the two versions' pages and activate it by hand"
        )


def test_a_failing_training_fails_only_its_version():
    shape_catalogue(groups_per_shape=1, colours=1)  # 4 images: below the minimum of 8

    version, job = train_tiny()

    assert job.state == "failed"
    assert version.status == "failed"
    assert job.error == "DatasetTooSmall: the catalogue has 4 images; training needs at least 8"
    assert vector_store.hnsw_index_exists(version=version) is None


def test_unavailable_weights_fail_the_job_with_the_reason(monkeypatch):
    monkeypatch.setenv("PRODSIM_OFFLINE", "1")
    shape_catalogue(groups_per_shape=2, colours=3)

    version, job = train_tiny(backbone="mobilenet_v2", weights="imagenet")

    assert job.state == "failed"
    assert job.error.startswith(
        "WeightsUnavailable: ImageNet weights for mobilenet_v2 could not be obtained"
    )


def test_a_cancelled_job_leaves_the_active_version_serving():
    shape_catalogue(groups_per_shape=2, colours=3)
    active, _ = train_tiny()
    version = model_version_create(enqueue=False, **TINY)
    job = version.jobs.get()
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    job = job_run(job_id=job.pk, max_attempts=3)

    version.refresh_from_db()
    active.refresh_from_db()
    assert (job.state, job.error, version.status, active.status) == (
        "cancelled",
        "cancelled by an admin",
        "failed",
        "active",
    )
    assert vector_store.hnsw_index_exists(version=version) is None


def test_a_job_that_keeps_crashing_is_failed_after_bounded_attempts():
    shape_catalogue(groups_per_shape=2, colours=3)
    version = model_version_create(enqueue=False, **TINY)
    Job.objects.filter(model_version=version).update(state="running", attempts=3)

    job = job_run(job_id=version.jobs.get().pk, max_attempts=3)

    assert (job.state, job.attempts) == ("failed", 4)
    assert job.error == "gave up after 3 interrupted attempts"
    assert Path(version.artifact_dir).exists() is False


def test_evaluate_and_reembed_commands(capsys):
    from io import StringIO

    from django.core.management import call_command

    shape_catalogue(groups_per_shape=2, colours=3)
    # Without the refit the served model is the one evaluated, so `evaluate` re-scores it.
    version, _ = train_tiny(refit_on_all=False)
    stored = dict(version.metrics)
    out = StringIO()

    call_command("evaluate", model_version=version.pk, stdout=out)

    lines = out.getvalue().splitlines()
    # One photo per product: no known-products queries, so new products decide; it says why.
    assert lines[0] == f"v{version.pk} small_cnn, labels: group; deciding protocol: new_products"
    why = stored["evaluation"]["unmeasured"][KNOWN_PRODUCTS]
    assert lines[1] == NOTE_UNMEASURED.format(protocol=KNOWN_PRODUCTS, why=why)
    queries = stored["protocols"]["new_products"]["model"]["queries"]
    assert lines[3] == f"new_products ({queries} queries; figures of the served model)"
    assert [line.split()[0] for line in lines[5:]] == [
        "model",
        "colour_histogram",
        "backbone_untrained",
        "random_init",
    ]
    version.refresh_from_db()
    # The exported TFLite artifact scores what the Keras model scored at training time.
    assert version.metrics["model"]["recall_at_1"] == pytest.approx(
        stored["model"]["recall_at_1"], abs=1e-9
    )
    assert version.metrics["colour_histogram"] == stored["colour_histogram"]

    out = StringIO()
    call_command("reembed", only_missing=True, verbosity=0, stdout=out)
    assert out.getvalue().strip() == f"v{version.pk}: 0 images embedded, 0 failed"
    call_command("reembed", model_version=version.pk, verbosity=0, stdout=out)
    assert out.getvalue().strip().endswith(f"v{version.pk}: 24 images embedded, 0 failed")
    assert ImageEmbedding.objects.filter(model_version=version).count() == 24


def test_evaluate_shows_a_refit_versions_selection_figures_without_rescoring():
    from io import StringIO

    from django.core.management import call_command

    shape_catalogue(groups_per_shape=2, colours=3)
    # One photo per product: no known-products queries, so the refit trains on every photo.
    version, _ = train_tiny()
    stored = dict(version.metrics)
    out = StringIO()

    call_command("evaluate", model_version=version.pk, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == ERROR_REFIT.format(pk=version.pk)
    assert lines[2].startswith("no known_products figure: ")
    assert lines[4].startswith(NEW_PRODUCTS) and lines[4].endswith("figures of the selection run)")
    version.refresh_from_db()
    assert version.metrics == stored


def test_evaluate_after_the_held_out_photos_are_gone_keeps_none_of_the_last_runs_figures():
    """Evaluation stored {**old, **new}: the last run's model and baseline rows stayed at the top
    level, and the version list and compare page kept showing figures no protocol produced."""
    from io import StringIO

    from django.core.management import call_command

    from catalog.models import Product

    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny(refit_on_all=False)
    held_out = [pk for split in ("val", "test") for pk in version.dataset[f"{split}_image_ids"]]
    Product.objects.filter(images__pk__in=held_out).update(is_active=False)
    ProductImage.objects.filter(pk__in=held_out).delete()
    out = StringIO()

    call_command("evaluate", model_version=version.pk, stdout=out)

    version.refresh_from_db()
    evaluation = version.metrics["evaluation"]
    assert evaluation["protocol"] is None and version.metrics["protocols"] == {}
    assert not {"model", "colour_histogram", "random_init"} & set(version.metrics)
    assert "text_to_image" in version.metrics  # the text tower's figures are not evaluate's
    for protocol, why in evaluation["unmeasured"].items():
        assert NOTE_UNMEASURED.format(protocol=protocol, why=why) in out.getvalue()
