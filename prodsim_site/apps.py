from django.apps import AppConfig


class ProdsimSiteConfig(AppConfig):
    name = "prodsim_site"
    verbose_name = "prodsim"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import (
            api_schema,  # noqa: F401 - registers the OpenAPI auth extension
            checks,  # noqa: F401 - registers the pgvector version check
            partner_keys,
        )
        from .models import PartnerApiKey

        # Admin edits, shell edits and services alike: a verified key is never kept past them.
        for signal in (post_save, post_delete):
            signal.connect(
                partner_keys.keys_changed, sender=PartnerApiKey, dispatch_uid="partner-keys"
            )
