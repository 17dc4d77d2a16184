"""Celery tasks of the `ml` queue. TensorFlow is imported inside the tasks, in the worker child,
never when this module is imported (the web process and the worker parent import it too)."""

from celery import shared_task
from django.conf import settings

from core.deliveries import BoundedDeliveryTask
from core.jobs.tasks import JobTask
from core.outages import RETRY_ON_DATABASE_OUTAGE

TRAIN_SOFT_LIMIT_S = 5 * 3600  # a 20k-image catalogue trains in about 3 h on 2 CPU cores
TRAIN_HARD_LIMIT_S = TRAIN_SOFT_LIMIT_S + 600
EMBED_SOFT_LIMIT_S = 3600
EMBED_HARD_LIMIT_S = EMBED_SOFT_LIMIT_S + 300


class MlJobTask(JobTask):
    """A task whose first argument is a Job id: a time limit ends that job as `timed_out`."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        from .services.jobs import job_time_out  # in the worker parent too: keep it light

        job_time_out(job_id=job_id, seconds=seconds)


@shared_task(
    base=MlJobTask,
    bind=True,
    soft_time_limit=TRAIN_SOFT_LIMIT_S,
    time_limit=TRAIN_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def model_version_train_task(self, job_id: int) -> None:
    from .services.pipeline import job_run

    max_attempts = settings.PRODSIM_ML_MAX_ATTEMPTS
    self.run_job(
        job_id, lambda: job_run(job_id=job_id, max_attempts=max_attempts), label="Training job"
    )


@shared_task(
    base=MlJobTask,
    bind=True,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def model_version_reembed_task(self, job_id: int) -> None:
    """A queued bulk re-embedding (services.reembed.reembed_request)."""
    from .services.reembed import embed_job_run

    max_attempts = settings.PRODSIM_ML_MAX_ATTEMPTS
    self.run_job(
        job_id, lambda: embed_job_run(job_id=job_id, max_attempts=max_attempts), label="Embed job"
    )


@shared_task(
    base=BoundedDeliveryTask,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def lexical_index_rebuild_task() -> None:
    """Runs on the default queue (routed in settings): NumPy only, no TensorFlow."""
    from .services.lexical import lexical_index_rebuild

    lexical_index_rebuild()


@shared_task(
    base=BoundedDeliveryTask,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def product_texts_refresh_task(product_ids: list[int]) -> None:
    from .services.lexical import product_texts_refresh

    product_texts_refresh(product_ids=product_ids)


@shared_task(
    base=BoundedDeliveryTask,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def products_embed_task(product_ids: list[int], candidate_id: int | None = None) -> None:
    """Embed new or changed images of these products with the active version, or with the A/B
    test candidate `candidate_id` while it is ready (activated since, the active run does it)."""
    from .models import ModelVersion
    from .selectors import active_version
    from .services.embedding import products_embed, version_with_status

    if candidate_id is None:
        version = active_version()
    else:
        version = version_with_status(candidate_id, ModelVersion.Status.READY)
    if version is None:
        return
    products_embed(version=version, product_ids=product_ids)


@shared_task(
    base=BoundedDeliveryTask,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def missing_images_embed_task(version_id: int, candidate: bool = False) -> None:
    """After an activation, or as an A/B test starts with the version as its `candidate`:
    embed what the version has no vector of."""
    from .models import ModelVersion
    from .services.embedding import missing_images_embed

    version = ModelVersion.objects.filter(pk=version_id).first()
    status = ModelVersion.Status.READY if candidate else ModelVersion.Status.ACTIVE
    if version is not None:
        missing_images_embed(version=version, while_status=status)
