"""Site-wide Celery tasks, scheduled by beat."""

from importlib import import_module

from celery import shared_task
from django.conf import settings

from core.outages import RETRY_ON_DATABASE_OUTAGE


@shared_task(**RETRY_ON_DATABASE_OUTAGE)
def sessions_clear_task() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does (beat: daily): they still hold
    an anonymous shopper's visitor id, and Django never deletes them by itself."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
