"""Celery tasks of the experiments app, scheduled by beat."""

import logging

from celery import shared_task

from core.outages import RETRY_ON_DATABASE_OUTAGE

from .services import impressions_retention_enforce

logger = logging.getLogger(__name__)


@shared_task(**RETRY_ON_DATABASE_OUTAGE)
def impressions_retention_task() -> None:
    """Delete impressions and clicks past the shoppers' data retention (beat: daily)."""
    logger.info("impressions retention: %s deleted", impressions_retention_enforce())
