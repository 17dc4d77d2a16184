"""Beat's tasks reach the `periodic` worker (a real worker process, Valkey and PostgreSQL) by
their routes alone: beat sends them by name, with no queue of its own."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from prodsim_site.celery import app
from tests.processes import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_sent_as_beat_sends_it_runs_on_the_periodic_worker(celery_worker_process):
    worker = celery_worker_process(settings.PERIODIC_QUEUE)
    Session.objects.create(
        session_key="expired", session_data="", expire_date=timezone.now() - dt.timedelta(days=1)
    )
    entry = settings.CELERY_BEAT_SCHEDULE["sessions-clear"]

    app.send_task(entry["task"], **entry.get("options", {}))

    wait_for(lambda: not Session.objects.exists(), timeout=60, process=worker)
