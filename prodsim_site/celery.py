"""The Celery app, as in Celery's "First steps with Django".

Queues: `default` (imports, light jobs), `ml` (training, embedding: TensorFlow only there) and
`periodic` (beat's tasks). Routes: settings_jobs.py.
"""

import os

from celery import Celery
from celery.signals import setup_logging, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")

# DjangoTask gives every task delay_on_commit(), so services enqueue only after their
# transaction commits.
app = Celery("prodsim_site", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _start_embedded_services(**_kwargs) -> None:
    # A worker started before `make run`'s services (or alone) brings them up itself.
    from prodsim_site.embedded.bootstrap import start_embedded_services

    start_embedded_services()


@setup_logging.connect
def _keep_djangos_logging(**_kwargs) -> None:
    """Workers and beat log as web does: Django's LOGGING (PRODSIM_LOG_LEVEL, the filter that
    masks visitor ids), applied when the loader sets Django up. With no receiver here, Celery
    would reset the root logger to its --loglevel."""
