"""Operator commands refuse bad input with a precise CommandError before they change anything,
and a foreground re-embedding that breaks ends its job."""

import io

import pytest
from django.core.management import CommandError, call_command

from similarity.admin.versions import TrainForm
from similarity.models import FusionWeights, Job, ModelVersion
from similarity.services import reembed as reembed_service
from similarity.services.training_limits import TRAINING_LIMITS
from similarity.services.tuning import ERROR_NO_VALIDATION
from tests.similarity.factories import vector_catalogue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def _refusal(*args) -> str:
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    return str(refused.value)


@pytest.mark.parametrize(
    "option,value,error",
    [
        ("--embedding-dim", "5000", "--embedding-dim must be between 8 and 2000, not 5000"),
        ("--embedding-dim", "1", "--embedding-dim must be between 8 and 2000, not 1"),
        ("--input-size", "70000", "--input-size must be between 32 and 512, not 70000"),
        ("--input-size", "4", "--input-size must be between 32 and 512, not 4"),
        ("--epochs", "0", "--epochs must be between 1 and 200, not 0"),
        ("--epochs", "-3", "--epochs must be between 1 and 200, not -3"),
    ],
)
def test_train_refuses_what_the_admin_form_refuses(option, value, error):
    assert _refusal("train", option, value) == error
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize(
    ("defaults", "error"),
    [
        ({"epochs": 0}, "epochs must be between 1 and 200, not 0"),
        ({"epochs": "5"}, "epochs must be a whole number, not '5'"),
        ({"embedding_dim": 4096}, "embedding_dim must be between 8 and 2000, not 4096"),
        ({"input_size": 8}, "input_size must be between 32 and 512, not 8"),
        ({"finetune_fraction": 2}, "finetune_fraction must be between 0 and 1, not 2"),
        ({"backbone": "resnet50"}, "backbone must be one of mobilenet_v2, "),
        ({"loss": "triplet"}, "loss must be one of supcon, "),
        ({"augmentation": "heavy"}, "augmentation must be one of phone, basic, not 'heavy'"),
        ({"metric": "cosinus"}, "metric must be one of cosine, l2, ip, not 'cosinus'"),
        ({"label_source": "brand"}, "label_source must be one of auto, group, category, "),
        ({"weights": "ImageNet-21k"}, "weights must be imagenet, auto, none or the path "),
        # Dropped unread (8 epochs trained), or read as true (the refit turned off ran).
        ({"epoch": 20}, "epoch is not a training option; the options are augmentation, "),
        ({"refit_on_all": "false"}, "refit_on_all must be true or false, not 'false'"),
        ({"refit_models": "2"}, "refit_models must be a whole number, not '2'"),
        ({"refit_models": 3, "embedding_dim": 1024}, "refit_models makes 3072-dimension vectors"),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else "",
)
@pytest.mark.parametrize("here", [False, True], ids=["queued", "here"])
def test_train_refuses_shop_defaults_it_refuses_on_its_command_line(
    settings, defaults, error, here
):
    """Such a default queued a version no training can serve: 0 epochs trained nothing and
    activated the random network; the others failed on the worker, or at the database."""
    settings.PRODSIM_TRAINING_DEFAULTS = defaults

    refusal = _refusal("train", *(["--here"] if here else []))

    assert refusal.startswith(error) and refusal.endswith("(PRODSIM_TRAINING_DEFAULTS)")
    assert not ModelVersion.objects.exists() and not Job.objects.exists()


def test_train_takes_a_weights_keyword_in_any_case_and_refuses_other_text():
    assert _refusal("train", "--weights", "imgnet").startswith("--weights must be imagenet")

    call_command("train", "--weights", "ImageNet", stdout=io.StringIO())

    assert ModelVersion.objects.get().weights == "imagenet"


def test_the_train_form_and_the_command_share_their_limits():
    fields = TrainForm().fields
    for name, (low, high) in TRAINING_LIMITS.items():
        assert (fields[name].min_value, fields[name].max_value) == (low, high)


def _servable_catalogue() -> ModelVersion:
    vector_catalogue(count=4)
    return ModelVersion.objects.get(status="active")


@pytest.mark.parametrize("status", ["failed", "queued"])
def test_reembed_refuses_a_version_without_a_trained_model(status):
    version = ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status=status,
        artifact_dir="/nonexistent",
    )

    error = _refusal("reembed", "--model-version", str(version.pk))

    assert error == (
        f"v{version.pk} is {status}: only a ready, active or archived version can embed"
    )
    assert not Job.objects.exists()


@pytest.mark.parametrize("size", ["0", "-5"])
def test_reembed_refuses_a_batch_size_below_one(size):
    version = _servable_catalogue()

    error = _refusal("reembed", "--model-version", str(version.pk), "--batch-size", size)

    assert error == f"the batch size must be at least 1, not {size}"
    assert not Job.objects.exists()


def test_reembed_model_version_zero_is_that_version_not_the_active_one():
    _servable_catalogue()

    assert _refusal("reembed", "--model-version", "0") == "no model version v0"


def test_a_reembed_command_that_breaks_ends_its_job_failed(monkeypatch):
    version = _servable_catalogue()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reembed_service, "images_embed", broken)

    assert _refusal("reembed") == f"v{version.pk}: RuntimeError: disk full"
    job = Job.objects.get(kind=Job.Kind.EMBED)
    assert (job.state, job.error) == ("failed", "RuntimeError: disk full")


def test_tune_fusion_without_validation_products_changes_nothing():
    version = _servable_catalogue()  # its dataset is empty: no validation products
    weights = dict(image=0.7, text=0.2, text_learned=0.0, attributes=0.05, price=0.05)
    FusionWeights.objects.update_or_create(category=None, defaults=weights)

    error = _refusal("tune_fusion")

    assert error == ERROR_NO_VALIDATION.format(pk=version.pk)
    row = FusionWeights.objects.get(category=None)
    assert (row.image, row.text) == (0.7, 0.2)


@pytest.mark.parametrize("k", ["0", "-1"])
def test_evaluate_gold_set_refuses_a_list_length_below_one(k):
    version = _servable_catalogue()

    error = _refusal("evaluate", "--model-version", str(version.pk), "--gold-set", "--k", k)

    assert error == f"--k must be at least 1, not {k}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--gold-set", "--gold-photos"], "ERROR_BOTH_GOLD"),  # only the gold set ran
        (["--k", "5"], "ERROR_K_ALONE"),  # ignored
        (["--gold-photos", "--k", "5"], "ERROR_K_ALONE"),
    ],
)
def test_evaluate_refuses_options_it_would_not_follow(options, message):
    from similarity.management.commands import evaluate

    version = _servable_catalogue()

    error = _refusal("evaluate", "--model-version", str(version.pk), *options)

    assert error == getattr(evaluate, message)


def test_ctrl_c_in_train_here_cancels_its_job_and_fails_its_version(monkeypatch):
    """Ctrl-C left the job running and the version training: the reaper then handed it to the
    ml worker, which trained it on and could activate it; with no worker, neither could be
    cancelled or deleted."""
    from similarity.services import pipeline

    def interrupted(*, job):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "model_version_train", interrupted)

    refusal = _refusal("train", "--here", "--backbone", "small_cnn", "--weights", "none")

    job = Job.objects.get()
    assert (job.state, job.error) == ("cancelled", pipeline.ERROR_INTERRUPTED)
    assert refusal == f"v{job.model_version_id} cancelled: {pipeline.ERROR_INTERRUPTED}"
    assert ModelVersion.objects.get().status == "failed"


def test_ctrl_c_in_train_here_before_its_job_is_claimed_ends_it_too(monkeypatch):
    """While TensorFlow loads the job is still queued: left so, the reaper would send it to the
    ml worker after PRODSIM_JOB_QUEUED_STALE_S."""
    from similarity.management.commands import train as train_command
    from similarity.services.versions import ERROR_INTERRUPTED

    class InterruptedAtOnce:
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            raise KeyboardInterrupt

        def __exit__(self, *exc_info):
            return False

    monkeypatch.setattr(train_command, "JobProgressBar", InterruptedAtOnce)

    refusal = _refusal("train", "--here", "--backbone", "small_cnn", "--weights", "none")

    job = Job.objects.get()
    assert (job.state, job.error, job.attempts) == ("cancelled", ERROR_INTERRUPTED, 0)
    assert refusal == f"v{job.model_version_id} cancelled: {ERROR_INTERRUPTED}"
    assert ModelVersion.objects.get().status == "failed"
