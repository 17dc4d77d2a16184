from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from similarity import admin_sections

        from .admin_html import version_experiments_html

        # Each model version's page shows its A/B tests (similarity cannot import experiments).
        admin_sections.online_evidence_register(version_experiments_html)
