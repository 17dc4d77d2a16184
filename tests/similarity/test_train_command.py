"""`manage.py train --here`: trains in the shell with a progress bar read from the job's row."""

import io

import pytest
from django.core.management import CommandError, call_command

from similarity.management.progress import JobProgressBar
from similarity.models import ModelVersion
from tests.catalog.factories import shape_catalogue

TINY_ARGS = [
    "--backbone=small_cnn",
    "--weights=none",
    "--input-size=32",
    "--embedding-dim=8",
    "--epochs=2",
    "--label-source=group",
]


@pytest.fixture(autouse=True)
def tiny_training(settings, tmp_path):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    settings.PRODSIM_TRAINING_DEFAULTS = {
        "labels_per_batch": 4,
        "images_per_label": 2,
        "min_epoch_images": 0,
    }


def test_the_bar_follows_epochs_then_images():
    terminal = io.StringIO()
    progress_bar = JobProgressBar(job_id=0, disable=False, file=terminal)
    bar = progress_bar.bar

    progress_bar.show({"phase": "training", "epoch": 2, "epochs": 5, "loss": 1.5})
    assert (bar.n, bar.total, bar.unit, bar.desc) == (2, 5, "epoch", "training: ")

    progress_bar.show({"phase": "embedding", "epoch": 5, "epochs": 5, "done": 30, "total": 40})
    assert (bar.n, bar.total, bar.unit, bar.desc) == (30, 40, "img", "embedding: ")

    progress_bar.show({"phase": "evaluating"})  # nothing countable yet: the bar stays
    assert (bar.n, bar.total) == (30, 40)
    assert "loss=1.500" in terminal.getvalue()


@pytest.mark.django_db(transaction=True)  # the bar's thread reads the job row: it must be committed
def test_train_here_shows_progress_and_reports_the_version(capsys):
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 products, 8 variant groups
    out = io.StringIO()

    call_command("train", "--here", "--no-auto-activate", *TINY_ARGS, stdout=out)

    version = ModelVersion.objects.get()
    recall = version.metrics["model"]["recall_at_1"]
    assert out.getvalue() == f"v{version.pk} ready; R@1 {recall:.3f}\n"
    assert "24/24" in capsys.readouterr().err  # the bar ended on the embedded images


@pytest.mark.django_db
def test_train_here_fails_with_a_message_and_non_zero_exit():
    # No catalogue: there is nothing to learn from, and the command says why.
    with pytest.raises(CommandError) as raised:
        call_command("train", "--here", *TINY_ARGS, verbosity=0, stdout=io.StringIO())

    version = ModelVersion.objects.get()
    assert str(raised.value).startswith(f"v{version.pk} failed: ")
    assert version.status == "failed"


@pytest.mark.django_db
def test_the_recipe_is_chosen_on_the_command_line_and_recorded_on_the_version():
    recipe = [
        "--augmentation=phone",
        "--loss=multi_similarity",
        "--finetune-fraction=0",
        "--learning-rate-schedule=cosine",
        "--no-refit",
        "--refit-models=3",
    ]
    call_command("train", *TINY_ARGS, *recipe, stdout=io.StringIO())  # queued, not run

    params = ModelVersion.objects.get().params
    assert (params["augmentation"], params["loss"], params["finetune_fraction"]) == (
        "phone",
        "multi_similarity",
        0.0,
    )
    assert (params["learning_rate_schedule"], params["refit_on_all"]) == ("cosine", False)
    assert params["refit_models"] == 3
    with pytest.raises(CommandError, match="between 0 and 1, not 1.5"):
        call_command("train", "--finetune-fraction=1.5", stdout=io.StringIO())
    assert ModelVersion.objects.count() == 1


def test_the_versions_default_recipe_is_the_training_configs():
    from similarity.ml.training import TrainingConfig
    from similarity.services.versions import DEFAULT_TRAINING

    defaults = TrainingConfig()
    for name in ("augmentation", "loss", "finetune_fraction", "learning_rate_schedule"):
        assert DEFAULT_TRAINING[name] == getattr(defaults, name), name
    assert DEFAULT_TRAINING["refit_on_all"] == defaults.refit_on_all
    assert DEFAULT_TRAINING["refit_models"] == defaults.refit_models
    assert (DEFAULT_TRAINING["epochs"], DEFAULT_TRAINING["embedding_dim"]) == (
        defaults.epochs,
        defaults.embedding_dim,
    )


@pytest.mark.django_db
def test_models_side_by_side_must_make_a_vector_an_hnsw_index_takes():
    with pytest.raises(CommandError, match="between 1 and 4, not 5"):
        call_command("train", "--refit-models=5", stdout=io.StringIO())
    # Two 1,200-d models side by side: 2,400 dimensions, refused before anything is queued.
    with pytest.raises(CommandError) as raised:
        call_command("train", "--embedding-dim=1200", stdout=io.StringIO())
    assert str(raised.value) == (
        "refit_models makes 2400-dimension vectors (2 models side by side), over the 2000 an "
        "HNSW index takes: lower embedding_dim or refit_models"
    )
    assert ModelVersion.objects.count() == 0
    # One model (no refit, or refit_models=1) keeps the whole 2,000.
    call_command("train", "--embedding-dim=1200", "--no-refit", stdout=io.StringIO())
    call_command("train", "--embedding-dim=2000", "--refit-models=1", stdout=io.StringIO())
    assert [v.vector_dim for v in ModelVersion.objects.order_by("pk")] == [1200, 2000]
