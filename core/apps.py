from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app builds on: jobs, generations, outages, deliveries, uploads, API errors."""

    name = "core"
    verbose_name = "core"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the pgvector version check
