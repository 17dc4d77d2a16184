from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    name = "similarity"
    verbose_name = "Similarity"

    def ready(self) -> None:
        from . import (
            signals,  # noqa: F401 - connects the cache invalidation receivers
            vector_store,
        )

        vector_store.connect_session_settings()
