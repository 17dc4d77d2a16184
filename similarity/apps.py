from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    name = "similarity"
    verbose_name = "Similarity"

    def ready(self) -> None:
        from django.core import checks
        from django.core import signals as core_signals

        from catalog import changes

        from . import (
            cache,
            signals,  # noqa: F401 - connects the cache invalidation receivers
            vector_store,
        )
        from .services.catalogue_changes import LISTENER
        from .services.training_limits import training_defaults_check

        changes.subscribe(LISTENER)
        checks.register(training_defaults_check)

        vector_store.connect_session_settings()
        core_signals.request_started.connect(cache.request_started, dispatch_uid="similar-start")
        core_signals.request_finished.connect(cache.request_finished, dispatch_uid="similar-end")
