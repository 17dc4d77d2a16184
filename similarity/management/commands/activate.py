from django.core.management.base import BaseCommand, CommandError

from similarity.models import ModelVersion
from similarity.services import VersionStateError, model_version_activate, model_version_rollback


class Command(BaseCommand):
    help = "Activate a ready model version (atomic switch), or roll back to the previous one."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("model_version", nargs="?", type=int)
        group.add_argument("--rollback", action="store_true")

    def handle(self, *args, model_version, rollback, **options):
        try:
            if rollback:
                version = model_version_rollback()
            else:
                version = model_version_activate(
                    version=ModelVersion.objects.filter(pk=model_version).first()
                    or _missing(model_version)
                )
        except VersionStateError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"v{version.pk} is active.")


def _missing(number: int):
    raise CommandError(f"there is no model version v{number}")
