"""Services enqueue by task name (core.tasks): every name they use must be a registered task,
found also in a process where no task module was imported yet (a web process)."""

import importlib

import pytest
from celery.exceptions import NotRegistered
from django.db import transaction

from core.tasks import _registered_task, enqueue_on_commit

SERVICE_MODULES = [
    "behaviour.services.imports.jobs",
    "behaviour.services.refresh_queue",
    "catalog.services.imports",
    "similarity.services.catalogue_changes",
    "similarity.services.reembed",
    "similarity.services.versions",
]


def _task_names() -> list[str]:
    names = []
    for module_name in SERVICE_MODULES:
        module = importlib.import_module(module_name)
        names += [value for key, value in vars(module).items() if key.endswith("_TASK")]
    return names


def test_every_task_name_a_service_uses_is_registered():
    names = _task_names()

    assert len(names) == 9
    assert [_registered_task(name).name for name in names] == names


@pytest.mark.django_db(transaction=True)
def test_an_unknown_task_name_fails_before_anything_is_sent():
    with pytest.raises(NotRegistered), transaction.atomic():
        enqueue_on_commit("similarity.tasks.no_such_task", 1)
