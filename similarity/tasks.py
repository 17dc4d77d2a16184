"""Celery tasks of the `ml` queue. TensorFlow is imported inside the tasks, in the worker child,
never when this module is imported (the web process and the worker parent import it too)."""

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings

from prodsim_site.deliveries import BoundedDeliveryTask
from prodsim_site.outages import RETRY_ON_DATABASE_OUTAGE

logger = logging.getLogger(__name__)

TRAIN_SOFT_LIMIT_S = 5 * 3600  # a 20k-image catalogue trains in about 3 h on 2 CPU cores
TRAIN_HARD_LIMIT_S = TRAIN_SOFT_LIMIT_S + 600
EMBED_SOFT_LIMIT_S = 3600
EMBED_HARD_LIMIT_S = EMBED_SOFT_LIMIT_S + 300


class JobTask(DjangoTask):
    """A task whose first argument is a Job id: a time limit ends that job as `timed_out`.

    The soft limit raises inside the task (handled there); the hard limit kills the worker child,
    and Celery then calls on_failure in the worker parent, so the row never stays `running`.
    """

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TimeLimitExceeded) and args:
            from .services.jobs import job_time_out

            job_time_out(job_id=args[0], seconds=exc.args[0] if exc.args else self.time_limit)


def _soft_time_out(job_id: int, limit: float | None) -> None:
    from .services.jobs import job_time_out

    job_time_out(job_id=job_id, seconds=limit or 0)


@shared_task(
    base=JobTask,
    bind=True,
    soft_time_limit=TRAIN_SOFT_LIMIT_S,
    time_limit=TRAIN_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def model_version_train_task(self, job_id: int) -> None:
    from .services.pipeline import job_run

    try:
        job = job_run(job_id=job_id, max_attempts=settings.PRODSIM_ML_MAX_ATTEMPTS)
    except SoftTimeLimitExceeded:
        _soft_time_out(job_id, self.request.timelimit[1] or TRAIN_SOFT_LIMIT_S)
        return
    if job is None:
        logger.warning("Training job %s no longer exists; nothing to do", job_id)


@shared_task(
    base=JobTask,
    bind=True,
    soft_time_limit=EMBED_SOFT_LIMIT_S,
    time_limit=EMBED_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def model_version_reembed_task(self, job_id: int) -> None:
    """A queued bulk re-embedding (services.reembed.reembed_request)."""
    from .services.reembed import embed_job_run

    try:
        job = embed_job_run(job_id=job_id, max_attempts=settings.PRODSIM_ML_MAX_ATTEMPTS)
    except SoftTimeLimitExceeded:
        _soft_time_out(job_id, self.request.timelimit[1] or EMBED_SOFT_LIMIT_S)
        return
    if job is None:
        logger.warning("Embed job %s no longer exists; nothing to do", job_id)


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
def products_embed_task(product_ids: list[int]) -> None:
    """Embed new or changed images of these products with the active version."""
    from .services.embedding import images_embed, images_to_embed
    from .services.versions import active_version

    version = active_version()
    if version is None:
        return
    records = images_to_embed(version=version, only_missing=True, product_ids=product_ids)
    images_embed(version=version, records=records)
