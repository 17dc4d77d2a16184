from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from prodsim_site.backup import BackupError
from prodsim_site.restore import backup_restore


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` folder into this installation: replaces the database's "
        "tables, copies media and model artifacts into MEDIA_ROOT and PRODSIM_MODELS_ROOT."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a folder written by manage.py backup")

    def handle(self, *args, directory: Path, **options):
        try:
            manifest = backup_restore(directory=directory.resolve())
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"restored the backup of {manifest['created_at']}: {manifest['media_files']} media "
            f"files, {manifest['model_files']} model files, "
            f"{manifest['artifact_paths_moved']} model versions moved to this models root"
        )
