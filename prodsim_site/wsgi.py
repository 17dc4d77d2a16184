"""WSGI entry point (gunicorn prodsim_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from prodsim_site.embedded.bootstrap import start_embedded_services

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
start_embedded_services()
application = get_wsgi_application()
