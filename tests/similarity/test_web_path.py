"""The web process at start-up: it never imports TensorFlow, and it freezes what it built."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import database_url_for_subprocess

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys, django
django.setup()
from django.contrib import admin
from django.test import Client
import prodsim_site.urls, prodsim_site.wsgi, catalog.services, similarity.services
import similarity.tasks, catalog.tasks, similarity.selectors
admin.autodiscover()
assert Client().get("/").status_code == 200
print("FROZEN=" + str(gc.get_freeze_count() > 0))  # the WSGI module froze start-up objects
heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.django_db(transaction=True)  # the probe reads this test run's migrated database
def test_web_process_imports_no_tensorflow():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "prodsim_site.settings",
        "DATABASE_URL": database_url_for_subprocess(),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-2:] == ["FROZEN=True", "HEAVY="]
