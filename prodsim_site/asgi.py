"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from prodsim_site.embedded.bootstrap import start_embedded_services

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
start_embedded_services()
application = get_asgi_application()
