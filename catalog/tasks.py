import logging

from celery import shared_task

from prodsim_site.outages import RETRY_ON_DATABASE_OUTAGE

from .services import import_job_run

logger = logging.getLogger(__name__)

# An import of 100k rows with images takes well under an hour on two cores.
IMPORT_SOFT_LIMIT_S = 3 * 3600
IMPORT_HARD_LIMIT_S = IMPORT_SOFT_LIMIT_S + 300


# A database restart mid-import is retried: rows are upserts, so the rerun redoes finished rows
# as no-ops, and the job's attempt counter still bounds the work.
@shared_task(
    soft_time_limit=IMPORT_SOFT_LIMIT_S, time_limit=IMPORT_HARD_LIMIT_S, **RETRY_ON_DATABASE_OUTAGE
)
def catalogue_import_task(job_id: int) -> None:
    job = import_job_run(job_id=job_id)
    if job is None:
        logger.warning("Import job %s no longer exists; nothing to do", job_id)
