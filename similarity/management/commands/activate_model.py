from django.core.management.base import BaseCommand, CommandError

from similarity.models import ModelVersion
from similarity.selectors import active_version
from similarity.services import VersionStateError, model_version_activate

ERROR_NO_SUCH_VERSION = "there is no model version v{pk}"


class Command(BaseCommand):
    help = (
        "Make a ready (or archived) model version the one that serves, in one atomic switch. "
        "The version active before stays ready: `rollback_model` reactivates it."
    )

    def add_arguments(self, parser):
        parser.add_argument("model_version", type=int, help="the version number N of vN")

    def handle(self, *args, model_version: int, **options):
        version = ModelVersion.objects.filter(pk=model_version).first()
        if version is None:
            raise CommandError(ERROR_NO_SUCH_VERSION.format(pk=model_version))
        previous = active_version()
        try:
            version = model_version_activate(version=version)
        except VersionStateError as exc:
            raise CommandError(str(exc)) from exc
        kept = f"; v{previous.pk} stays ready" if previous and previous != version else ""
        self.stdout.write(f"v{version.pk} is active{kept}.")
