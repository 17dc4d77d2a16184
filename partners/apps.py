from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partners"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import keys, schema  # noqa: F401 - schema registers the OpenAPI auth extension
        from .models import PartnerApiKey

        # Admin edits, shell edits and services alike: a verified key is never kept past them.
        for signal in (post_save, post_delete):
            signal.connect(keys.keys_changed, sender=PartnerApiKey, dispatch_uid="partner-keys")
