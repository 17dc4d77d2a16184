"""Celery tasks of the `ml` queue. TensorFlow is imported inside the tasks, in the worker child,
never when this module is imported (the web process and the worker parent import it too)."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)

TRAIN_SOFT_LIMIT_S = 5 * 3600  # a 20k-image catalogue trains in about 3 h on 2 CPU cores
TRAIN_HARD_LIMIT_S = TRAIN_SOFT_LIMIT_S + 600
EMBED_SOFT_LIMIT_S = 3600
EMBED_HARD_LIMIT_S = EMBED_SOFT_LIMIT_S + 300


@shared_task(soft_time_limit=TRAIN_SOFT_LIMIT_S, time_limit=TRAIN_HARD_LIMIT_S)
def model_version_train_task(job_id: int) -> None:
    from .models import Job
    from .services.pipeline import job_fail, job_run

    try:
        job = job_run(job_id=job_id, max_attempts=settings.PRODSIM_ML_MAX_ATTEMPTS)
    except SoftTimeLimitExceeded:
        job = Job.objects.filter(pk=job_id).select_related("model_version").first()
        if job is not None:
            job_fail(job=job, error=f"timed out after {TRAIN_SOFT_LIMIT_S} s")
        return
    if job is None:
        logger.warning("Training job %s no longer exists; nothing to do", job_id)


@shared_task(soft_time_limit=EMBED_SOFT_LIMIT_S, time_limit=EMBED_HARD_LIMIT_S)
def lexical_index_rebuild_task() -> None:
    """Runs on the default queue (routed in settings): NumPy only, no TensorFlow."""
    from .services.lexical import lexical_index_rebuild

    lexical_index_rebuild()


@shared_task(soft_time_limit=EMBED_SOFT_LIMIT_S, time_limit=EMBED_HARD_LIMIT_S)
def product_texts_refresh_task(product_ids: list[int]) -> None:
    from .services.lexical import product_texts_refresh

    product_texts_refresh(product_ids=product_ids)


@shared_task(soft_time_limit=EMBED_SOFT_LIMIT_S, time_limit=EMBED_HARD_LIMIT_S)
def products_embed_task(product_ids: list[int]) -> None:
    """Embed new or changed images of these products with the active version."""
    from .services.embedding import images_embed, images_to_embed
    from .services.versions import active_version

    version = active_version()
    if version is None:
        return
    records = images_to_embed(version=version, only_missing=True, product_ids=product_ids)
    images_embed(version=version, records=records)
