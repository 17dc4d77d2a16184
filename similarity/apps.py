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
        # An upgrade (migrate, then the new code) may rank or filter differently: lists the old
        # release cached in Valkey, which outlives the restart, would be served for their hour.
        post_migrate.connect(_lists_of_the_old_release_dropped, sender=self, dispatch_uid="similar")


def _lists_of_the_old_release_dropped(**kwargs) -> None:
    from . import cache

    cache.reset()
