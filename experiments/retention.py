"""Where retention cuts the A/B log: the shoppers' events' limit, PRODSIM_EVENT_RETENTION_DAYS."""

import datetime as dt

from django.conf import settings
from django.utils import timezone


def impressions_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Impressions (and their clicks) created before this are deleted (services, daily)."""
    return (now or timezone.now()) - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS)
