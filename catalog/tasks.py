import logging

from celery import shared_task

from .services import import_job_run

logger = logging.getLogger(__name__)

# An import of 100k rows with images takes well under an hour on two cores.
IMPORT_SOFT_LIMIT_S = 3 * 3600
IMPORT_HARD_LIMIT_S = IMPORT_SOFT_LIMIT_S + 300


@shared_task(soft_time_limit=IMPORT_SOFT_LIMIT_S, time_limit=IMPORT_HARD_LIMIT_S)
def catalogue_import_task(job_id: int) -> None:
    job = import_job_run(job_id=job_id)
    if job is None:
        logger.warning("Import job %s no longer exists; nothing to do", job_id)
