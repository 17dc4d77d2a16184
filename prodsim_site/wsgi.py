"""WSGI entry point (gunicorn prodsim_site.wsgi)."""

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from prodsim_site.embedded.bootstrap import start_embedded_services

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
start_embedded_services()
application = get_wsgi_application()

# What start-up builds (Django, DRF, the URLconf and its views) lives as long as the worker.
# Frozen, the cyclic GC no longer walks it in each full collection: unfrozen, such a collection
# stalled a similar-items request by 60-80 ms about once in 300 (100k products, in-process).
import_module(settings.ROOT_URLCONF)
gc.freeze()
