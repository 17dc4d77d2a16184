"""Celery tasks of the behaviour app, NumPy only: beat's on the `periodic` queue, event imports on
`default`; the sequence training alone runs on the `ml` queue (TensorFlow, imported inside its
job). Routes: prodsim_site/settings_jobs.py."""

import logging

from celery import shared_task
from django.conf import settings

from core.jobs.tasks import JobTask
from core.outages import RETRY_ON_DATABASE_OUTAGE

from .services.imports import event_import_job_run, event_import_job_time_out
from .services.refresh import behaviour_refresh, refresh_due
from .services.retention import events_retention_enforce
from .services.sequence import (
    sequence_retrain_if_due,
    sequence_training_job_run,
    sequence_training_time_out,
    sequence_vectors_place_all,
)

logger = logging.getLogger(__name__)

REFRESH_SOFT_LIMIT_S = 600
REFRESH_HARD_LIMIT_S = 660


@shared_task(
    soft_time_limit=REFRESH_SOFT_LIMIT_S,
    time_limit=REFRESH_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def behaviour_refresh_task(force: bool = False) -> None:
    """Rebuild the lists when events arrived since the last refresh (beat: every 30 s), and
    place products added since the sequence model trained."""
    if force or refresh_due():
        behaviour_refresh()
    sequence_vectors_place_all()


@shared_task(**RETRY_ON_DATABASE_OUTAGE)
def sequence_retrain_task() -> None:
    """Start a scheduled sequence model training when one is due (beat: every 6 hours)."""
    sequence_retrain_if_due()


@shared_task(**RETRY_ON_DATABASE_OUTAGE)
def events_retention_task() -> None:
    """Drop events older than PRODSIM_EVENT_RETENTION_DAYS (beat: daily)."""
    dropped = events_retention_enforce()
    logger.info("retention: %s", dropped)


# --- Event imports (admin upload, import_events --queue) ----------------------------------------

# Measured ~36,000 new lines/s on two cores (docs/EVENTS_FORMAT.md): three hours is some 390
# million lines, far beyond any upload (PRODSIM_MAX_CSV_BYTES: ~3 million).
EVENTS_IMPORT_SOFT_LIMIT_S = 3 * 3600
EVENTS_IMPORT_HARD_LIMIT_S = EVENTS_IMPORT_SOFT_LIMIT_S + 300


class EventImportTask(JobTask):
    """A time limit fails the import with the reason instead of leaving it `running`."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        event_import_job_time_out(job_id=job_id, seconds=seconds)


# A database restart mid-import is retried: the rerun finds the lines already stored and counts
# them duplicates, and the job's attempt counter still bounds the work.
@shared_task(
    base=EventImportTask,
    bind=True,
    soft_time_limit=EVENTS_IMPORT_SOFT_LIMIT_S,
    time_limit=EVENTS_IMPORT_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def events_import_task(self, job_id: int) -> None:
    self.run_job(job_id, lambda: event_import_job_run(job_id=job_id), label="Event import job")


# --- Sequence model training (admin, train_behaviour --queue): the `ml` queue -----------------

# Reading the events and the epochs end within PRODSIM_SEQUENCE_TRAINING_BUDGET_S; what follows
# them (the vectors, the peers' profiles, tuning the fusion, storing the vectors in pgvector)
# has this long after it. Read at import, as Celery reads a task's limits.
SEQUENCE_SAVING_ALLOWANCE_S = 15 * 60
SEQUENCE_TRAINING_SOFT_LIMIT_S = (
    settings.PRODSIM_SEQUENCE_TRAINING_BUDGET_S + SEQUENCE_SAVING_ALLOWANCE_S
)
SEQUENCE_TRAINING_HARD_LIMIT_S = SEQUENCE_TRAINING_SOFT_LIMIT_S + 300


class SequenceTrainingTask(JobTask):
    """A time limit fails the training (and its version) with the reason."""

    def job_time_out(self, job_id: int, seconds: float) -> None:
        sequence_training_time_out(job_id=job_id, seconds=seconds)


@shared_task(
    base=SequenceTrainingTask,
    bind=True,
    soft_time_limit=SEQUENCE_TRAINING_SOFT_LIMIT_S,
    time_limit=SEQUENCE_TRAINING_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def sequence_training_task(self, job_id: int) -> None:
    self.run_job(
        job_id, lambda: sequence_training_job_run(job_id=job_id), label="Sequence training job"
    )
