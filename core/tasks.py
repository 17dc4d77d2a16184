"""Enqueueing by task name: the one way services start background work.

Tasks import the services they run, so a service that imported its task module would close an
import cycle (tasks → services → tasks). Services name the task instead, and the task is looked
up in Celery's registry when the message is sent; an unknown name raises `NotRegistered` at once.
"""

from celery import current_app


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside one), so
    the worker sees the rows the caller wrote and a rollback sends nothing."""
    _registered_task(task_name).delay_on_commit(*args)


def _registered_task(task_name: str):
    if task_name not in current_app.tasks:
        # Celery's autodiscovery imports the apps' task modules when a worker starts; a web
        # process (or a test run) has them imported on its first enqueue instead.
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]
