from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from behaviour import erasures
        from catalog import changes
        from similarity import admin_sections

        from .admin_versions import version_experiments_html
        from .catalogue_changes import LISTENER

        # A/B logs are kept under the visitor's hash: a visitor's erasure, by whatever door
        # (the partner API, the storefront, a deleted account), takes theirs too, and the
        # partner API's export holds them (the storefront's reads its session's too).
        erasures.subscribe(_log_erase)
        erasures.subscribe_export(_log_export)

        # Each model version's page shows its A/B tests (similarity cannot import experiments).
        admin_sections.online_evidence_register(version_experiments_html)

        # An image-model test's candidate embeds the catalogue's new images as the active does.
        changes.subscribe(LISTENER)


def _log_erase(*, visitor: str) -> None:
    from .services import shopper_log_erase

    shopper_log_erase(shopper_hashes=[visitor])


def _log_export(*, visitor: str) -> dict[str, list[dict]]:
    from .selectors import shopper_log

    return shopper_log(shopper_hashes=[visitor])
