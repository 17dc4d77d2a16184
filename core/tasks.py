"""Enqueueing by task name: the one way services start background work.

Tasks import the services they run, so a service that imported its task module would close an
import cycle (tasks → services → tasks). Services name the task instead, and the task is looked
up in Celery's registry when the message is sent; an unknown name raises `NotRegistered` at once.
"""

import functools
import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside one), so
    the worker sees the rows the caller wrote and a rollback sends nothing.

    A message the broker does not take (Valkey unreachable past the client's retries) is logged,
    not raised: the caller's rows are committed by then, so the change is made, and the other
    callbacks of its commit must still run. A job's message is sent again by the reaper while
    the job waits (PRODSIM_JOB_QUEUED_STALE_S)."""
    transaction.on_commit(functools.partial(_sent_or_logged, _registered_task(task_name), *args))


def _sent_or_logged(task, *args) -> None:
    try:
        task.delay(*args)
    except BrokerUnreachable as exc:
        logger.error("%s not sent, the broker is out of reach: %s", task.name, exc)


def _registered_task(task_name: str):
    if task_name not in current_app.tasks:
        # Celery's autodiscovery imports the apps' task modules when a worker starts; a web
        # process (or a test run) has them imported on its first enqueue instead.
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]
