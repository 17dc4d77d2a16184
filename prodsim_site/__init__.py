# Celery's Django guide: load the app when Django starts so shared tasks bind to it.
from .celery import app as celery_app

__all__ = ("celery_app",)
