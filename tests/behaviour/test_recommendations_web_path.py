"""The web process serves recommendations (and the sequence admin, tasks and services) without
ever importing TensorFlow or Keras: only the training job's function does, on the ml worker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import database_url_for_subprocess

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, django
django.setup()
from django.contrib import admin
import prodsim_site.urls, behaviour.tasks, behaviour.services.sequence, behaviour.admin_sequence
import behaviour.management.commands.train_behaviour
from behaviour.selectors.recommendations import recommended_for_visitor
from similarity.selectors import SimilarQuery
admin.autodiscover()
result = recommended_for_visitor(visitor_id="probe", query=SimilarQuery(k=3))
print("K=" + str(result.k_requested))
print("HEAVY=" + ",".join(sorted(n for n in ("tensorflow", "keras") if n in sys.modules)))
"""


@pytest.mark.django_db(transaction=True)  # the probe reads this test run's migrated database
def test_serving_recommendations_imports_no_tensorflow():
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
    assert result.stdout.strip().splitlines()[-2:] == ["K=3", "HEAVY="]
