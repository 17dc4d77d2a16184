"""The Celery app, as in Celery's "First steps with Django".

Queues: `default` (imports, light jobs) and `ml` (training, embedding: TensorFlow only there).
"""

import os

from celery import Celery
from celery.signals import worker_init

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
