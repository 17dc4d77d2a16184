"""Heavy ML stays out of the web path: the web process never imports TensorFlow."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, django
django.setup()
from django.contrib import admin
from django.test import Client
import prodsim_site.urls, prodsim_site.wsgi, catalog.services, similarity.services
import similarity.tasks, catalog.tasks
admin.autodiscover()
Client().get("/")
heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def test_web_process_imports_no_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "prodsim_site.settings"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="
