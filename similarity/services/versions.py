"""Model version lifecycle: create (and enqueue training), activate, cancel. A rollback is an
activation too: services.rollback picks or checks its target.

No TensorFlow here: the admin and the web process call these.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.jobs import request_cancel
from core.locks import IMAGE_ACTIVATIONS, turn_lock
from core.tasks import enqueue_on_commit

from .. import cache as similar_cache
from ..models import Job, ModelVersion
from .model_files import activation_problem
from .training_limits import TrainingOptionsError, training_options_errors, weights_option

logger = logging.getLogger(__name__)

MISSING_IMAGES_TASK = "similarity.tasks.missing_images_embed_task"
TRAIN_TASK = "similarity.tasks.model_version_train_task"

ERROR_GONE = "version v{pk} no longer exists"
ERROR_NOT_SERVABLE = "version v{pk} is {status}; only a ready or archived version can be activated"
ERROR_CANCELLED = "cancelled by an admin"
ERROR_INTERRUPTED = "interrupted by Ctrl-C in manage.py train --here"


class VersionStateError(ValueError):
    """The requested lifecycle change is not allowed in the version's current state."""


DEFAULT_TRAINING = {
    "backbone": "mobilenet_v2",
    "weights": "auto",
    "input_size": 224,
    "embedding_dim": 256,
    "epochs": 8,
    "label_source": "auto",
    "metric": "cosine",
    # The recipe (similarity.ml.training.TrainingConfig's defaults, chosen by measurement,
    # docs/BENCHMARKS.md; a test keeps the two equal), recorded on every version.
    "augmentation": "basic",
    "loss": "supcon",
    "finetune_fraction": 0.5,
    "learning_rate_schedule": "constant",
    "refit_on_all": True,
    "refit_models": 2,
}


def training_options_checked(params: dict) -> dict:
    """The options a version trains with: the recipe's, overridden by the shop's defaults, then
    by `params`. Raises TrainingOptionsError, naming the options that came from the shop's
    defaults, for any outside its bounds or choices."""
    shop = settings.PRODSIM_TRAINING_DEFAULTS
    values = {**DEFAULT_TRAINING, **shop, **params}
    if errors := training_options_errors(values):
        raise TrainingOptionsError(
            {
                name: f"{why} (PRODSIM_TRAINING_DEFAULTS)"
                if name in shop and name not in params
                else why
                for name, why in errors.items()
            }
        )
    return {**values, "weights": weights_option(values["weights"])}


@transaction.atomic
def model_version_create(
    *, auto_activate: bool | None = None, enqueue: bool = True, **params
) -> ModelVersion:
    """Create a queued version and its training job; the job is enqueued after commit
    (enqueue=False: the caller runs it, e.g. `manage.py train --here`). Raises
    TrainingOptionsError before anything is created when an option is out of bounds."""
    values = training_options_checked(params)
    version = ModelVersion.objects.create(
        backbone=values.pop("backbone"),
        weights=values.pop("weights"),
        input_size=values.pop("input_size"),
        embedding_dim=values.pop("embedding_dim"),
        metric=values.pop("metric"),
        label_source=values.pop("label_source"),
        auto_activate=settings.PRODSIM_AUTO_ACTIVATE if auto_activate is None else auto_activate,
        params=values,
    )
    version.artifact_dir = str(Path(settings.PRODSIM_MODELS_ROOT) / f"v{version.pk}")
    version.save(update_fields=["artifact_dir"])
    job = Job.objects.create(kind=Job.Kind.TRAIN, model_version=version)
    if enqueue:
        enqueue_on_commit(TRAIN_TASK, job.pk)
    return version


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one that serves; the previous active one stays ready for rollback."""
    turn_lock(IMAGE_ACTIVATIONS)  # two at once (two admins, or a training's auto-activation)
    pk, version = version.pk, ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
    if version is None:  # deleted since the page that asked was shown
        raise VersionStateError(ERROR_GONE.format(pk=pk))
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    if version.status not in {ModelVersion.Status.READY, ModelVersion.Status.ARCHIVED}:
        raise VersionStateError(ERROR_NOT_SERVABLE.format(pk=version.pk, status=version.status))
    if problem := activation_problem(version):  # visual search would fail for every shopper
        raise VersionStateError(problem)
    ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.READY
    )
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    similar_cache.serving_changed()
    # Products imported since its training embedded the catalogue have vectors of the version
    # active then only: without them, they would be missing from every similar list it serves.
    enqueue_on_commit(MISSING_IMAGES_TASK, version.pk)
    logger.info("Model version %s is now active", version.pk)
    return version


@transaction.atomic
def job_cancel(*, job: Job, error: str = ERROR_CANCELLED) -> Job:
    """Cancel a job and return its row: a queued job ends now, `cancelled` with `error` (a
    training job's version, never trained, is marked failed); a running one is asked to stop,
    and the worker checks the flag between batches. A finished job is left as it is.

    The row lock orders this against the worker's claim (pipeline.job_run): either the job is
    cancelled before any work, or the worker has it and sees the flag.
    """
    job = request_cancel(Job, job.pk, queued_error=error)
    if job.state != Job.State.CANCELLED:
        return job
    version = job.model_version
    if job.kind == Job.Kind.TRAIN and version.status == ModelVersion.Status.QUEUED:
        # Nothing was built yet (no artifacts, vectors or index): only the status changes.
        version.status, version.error = ModelVersion.Status.FAILED, error
        version.save(update_fields=["status", "error"])
    return job
