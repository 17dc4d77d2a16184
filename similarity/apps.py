from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SimilarityConfig(AppConfig):
    name = "similarity"
    verbose_name = "Similarity"

    def ready(self) -> None:
        from django.core import checks
        from django.core import signals as core_signals

        from catalog import changes

        from . import (
            cache,
            signals,  # its import connects the curation receivers
            vector_store,
        )
        from .services.catalogue_changes import LISTENER
        from .services.training_limits import training_defaults_check

        changes.subscribe(LISTENER)
        checks.register(training_defaults_check)

        vector_store.connect_session_settings()
        core_signals.request_started.connect(cache.request_started, dispatch_uid="similar-start")
        core_signals.request_finished.connect(cache.request_finished, dispatch_uid="similar-end")
        post_migrate.connect(
            signals.lists_of_the_old_release_dropped, sender=self, dispatch_uid="similar"
        )
