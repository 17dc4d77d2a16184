"""activate_model / rollback_model: the admin's activation and rollback for operators."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from similarity.management.commands.activate_model import ERROR_NO_SUCH_VERSION
from similarity.models import ModelVersion
from similarity.services import model_version_activate
from similarity.services.rollback import ERROR_NO_PREVIOUS
from similarity.services.versions import ERROR_NOT_SERVABLE
from tests.processes import database_url_for_subprocess

pytestmark = pytest.mark.django_db


def versions(*statuses) -> list[ModelVersion]:
    return [
        ModelVersion.objects.create(
            backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status=status
        )
        for status in statuses
    ]


def statuses() -> list[str]:
    return list(ModelVersion.objects.order_by("pk").values_list("status", flat=True))


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_activate_model_switches_and_keeps_the_previous_ready():
    first, second = versions("ready", "ready")
    model_version_activate(version=first)

    output = run("activate_model", str(second.pk))

    assert output == f"v{second.pk} is active; v{first.pk} stays ready.\n"
    assert statuses() == ["ready", "active"]


@pytest.mark.parametrize("status", ["training", "failed"])
def test_activate_model_refuses_an_unfinished_version(status):
    [version] = versions(status)

    with pytest.raises(CommandError) as raised:
        run("activate_model", str(version.pk))

    assert str(raised.value) == ERROR_NOT_SERVABLE.format(pk=version.pk, status=status)
    assert statuses() == [status]


def test_activate_model_names_a_missing_version():
    with pytest.raises(CommandError) as raised:
        run("activate_model", "999")

    assert str(raised.value) == ERROR_NO_SUCH_VERSION.format(pk=999)


def test_rollback_model_reactivates_the_previous_version():
    first, second = versions("ready", "ready")
    model_version_activate(version=first)
    model_version_activate(version=second)

    output = run("rollback_model")

    assert output == f"Rolled back: v{first.pk} is active again; v{second.pk} stays ready.\n"
    assert statuses() == ["active", "ready"]


def test_rollback_model_without_history_fails():
    versions("ready")

    with pytest.raises(CommandError) as raised:
        run("rollback_model")

    assert str(raised.value) == ERROR_NO_PREVIOUS
    assert statuses() == ["ready"]


def test_the_old_activate_command_still_works():
    first, second = versions("ready", "ready")

    run("activate", str(first.pk))
    run("activate", str(second.pk))
    output = run("activate", "--rollback")

    assert output == f"Rolled back: v{first.pk} is active again; v{second.pk} stays ready.\n"
    assert statuses() == ["active", "ready"]


def test_a_failing_command_exits_non_zero_with_its_message():
    # The test's own rows are invisible to the child (uncommitted): it sees no version at all.
    result = subprocess.run(
        [sys.executable, "manage.py", "rollback_model"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url_for_subprocess()},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"CommandError: {ERROR_NO_PREVIOUS}")
    assert result.stdout == ""
