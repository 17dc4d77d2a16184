from django.apps import AppConfig


class ProdsimSiteConfig(AppConfig):
    """The site's wiring: settings, URLs, the Celery app, embedded services, operator commands."""

    name = "prodsim_site"
    verbose_name = "prodsim"
