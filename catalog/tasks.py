import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from prodsim_site.outages import RETRY_ON_DATABASE_OUTAGE

from .services import import_job_run
from .services.imports import import_job_time_out

logger = logging.getLogger(__name__)

# An import of 100k rows with images takes well under an hour on two cores.
IMPORT_SOFT_LIMIT_S = 3 * 3600
IMPORT_HARD_LIMIT_S = IMPORT_SOFT_LIMIT_S + 300


# A database restart mid-import is retried: rows are upserts, so the rerun redoes finished rows
# as no-ops, and the job's attempt counter still bounds the work.
class ImportTask(DjangoTask):
    """The hard time limit kills the worker child; Celery then calls on_failure in the parent,
    which fails the job with the reason instead of leaving it `running`."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TimeLimitExceeded) and args:
            limit = exc.args[0] if exc.args else self.time_limit
            import_job_time_out(job_id=args[0], seconds=limit)


@shared_task(
    base=ImportTask,
    bind=True,
    soft_time_limit=IMPORT_SOFT_LIMIT_S,
    time_limit=IMPORT_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def catalogue_import_task(self, job_id: int) -> None:
    try:
        job = import_job_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        limit = self.request.timelimit[1] or IMPORT_SOFT_LIMIT_S
        import_job_time_out(job_id=job_id, seconds=limit)
        return
    if job is None:
        logger.warning("Import job %s no longer exists; nothing to do", job_id)
