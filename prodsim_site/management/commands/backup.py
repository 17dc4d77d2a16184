from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from prodsim_site.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump), media files and model artifacts into a new folder; "
        "`manage.py restore <folder>` brings them back (see README, Backup and restore)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a new or empty folder")

    def handle(self, *args, directory: Path, **options):
        try:
            manifest = backup_create(directory=directory.resolve())
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"backup of {manifest['database']} in {directory}: "
            f"{manifest['media_files']} media files, {manifest['model_files']} model files"
        )
