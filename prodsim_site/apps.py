from django.apps import AppConfig


class ProdsimSiteConfig(AppConfig):
    name = "prodsim_site"
    verbose_name = "prodsim"

    def ready(self) -> None:
        from . import (
            api_schema,  # noqa: F401 - registers the OpenAPI auth extension
            checks,  # noqa: F401 - registers the pgvector version check
        )
