"""Enqueueing by task name: the one way services start background work.

Tasks import the services they run, so a service that imported its task module would close an
import cycle (tasks → services → tasks). Services name the task instead, and the task is looked
up in Celery's registry when the message is sent; an unknown name raises `NotRegistered` at once.
"""

import functools

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside one), so
    the worker sees the rows the caller wrote and a rollback sends nothing.

    A message the broker does not take (Valkey unreachable past the client's retries) is logged,
    not raised: the caller's rows are committed by then, and raised after the commit it made a
    saved change answer 500 and stopped the next callbacks. A job's message is sent again by
    the reaper while the job waits (PRODSIM_JOB_QUEUED_STALE_S)."""
    task = _registered_task(task_name)
    send = functools.partial(task.delay, *args)
    send.__qualname__ = f"{task_name}.delay"  # what Django's log line of a failed send names
    transaction.on_commit(send, robust=True)


def _registered_task(task_name: str):
    if task_name not in current_app.tasks:
        # Celery's autodiscovery imports the apps' task modules when a worker starts; a web
        # process (or a test run) has them imported on its first enqueue instead.
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]
