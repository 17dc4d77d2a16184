"""Celery tasks of the behaviour app, run on the default queue (NumPy only), scheduled by beat."""

import logging

from celery import shared_task

from core.outages import RETRY_ON_DATABASE_OUTAGE

from .services.refresh import behaviour_refresh, refresh_due
from .services.retention import events_retention_enforce

logger = logging.getLogger(__name__)

REFRESH_SOFT_LIMIT_S = 600
REFRESH_HARD_LIMIT_S = 660


@shared_task(
    soft_time_limit=REFRESH_SOFT_LIMIT_S,
    time_limit=REFRESH_HARD_LIMIT_S,
    **RETRY_ON_DATABASE_OUTAGE,
)
def behaviour_refresh_task(force: bool = False) -> None:
    """Rebuild the lists when events arrived since the last refresh (beat: every 30 s)."""
    if force or refresh_due():
        behaviour_refresh()


@shared_task(**RETRY_ON_DATABASE_OUTAGE)
def events_retention_task() -> None:
    """Drop events older than PRODSIM_EVENT_RETENTION_DAYS (beat: daily)."""
    dropped = events_retention_enforce()
    logger.info("retention: %s", dropped)
