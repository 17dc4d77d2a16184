from django.core.management.base import BaseCommand, CommandError

from similarity.selectors import active_version
from similarity.services import VersionStateError, model_version_rollback


class Command(BaseCommand):
    help = (
        "Reactivate the model version that was active before the current one (atomic switch); "
        "the current one stays ready."
    )

    def handle(self, *args, **options):
        previous = active_version()
        try:
            version = model_version_rollback()
        except VersionStateError as exc:
            raise CommandError(str(exc)) from exc
        kept = f"; v{previous.pk} stays ready" if previous else ""
        self.stdout.write(f"Rolled back: v{version.pk} is active again{kept}.")
