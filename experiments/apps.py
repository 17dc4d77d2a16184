from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from behaviour import erasures
        from similarity import admin_sections

        from .admin_html import version_experiments_html
        from .services import shopper_log_erase

        # A/B logs are kept under the visitor's hash: a visitor's erasure, by whatever door
        # (the partner API, the storefront, a deleted account), takes theirs too.
        erasures.subscribe(lambda *, visitor: shopper_log_erase(shopper_hashes=[visitor]))

        # Each model version's page shows its A/B tests (similarity cannot import experiments).
        admin_sections.online_evidence_register(version_experiments_html)
