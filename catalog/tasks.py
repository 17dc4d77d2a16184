from celery import shared_task

from core.jobs.tasks import JobTask
from core.outages import RETRY_ON_DATABASE_OUTAGE

from .services import import_job_run
from .services.imports import import_job_time_out

# An import of 100k rows with images takes well under an hour on two cores.
IMPORT_SOFT_LIMIT_S = 3 * 3600
IMPORT_HARD_LIMIT_S = IMPORT_SOFT_LIMIT_S + 300


class ImportTask(JobTask):
    """A time limit fails the import with the reason instead of leaving it `running`."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        import_job_time_out(job_id=job_id, seconds=seconds)


# A database restart mid-import is retried: rows are upserts, so the rerun redoes finished rows
# as no-ops, and the job's attempt counter still bounds the work.
@shared_task(
    base=ImportTask,
    bind=True,
    soft_time_limit=IMPORT_SOFT_LIMIT_S,
    time_limit=IMPORT_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def catalogue_import_task(self, job_id: int) -> None:
    self.run_job(job_id, lambda: import_job_run(job_id=job_id), label="Import job")
