from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.services import import_job_cancel, import_job_create, import_job_run
from catalog.services.imports import ImportFileTooLarge
from catalog.services.reports import import_job_problems_csv, import_job_summary
from core.jobs.foreground import (
    ImportCommandSteps,
    import_files_storing,
    import_paths_check,
    import_run_in_foreground,
)

IMPORT_STEPS = ImportCommandSteps(
    run=import_job_run,
    cancel=import_job_cancel,
    summary=import_job_summary,
    problems_csv=import_job_problems_csv,
    counts=lambda job: (
        job.created_count + job.updated_count + job.unchanged_count,
        job.failed_count,
    ),
)


class Command(BaseCommand):
    help = (
        "Import a catalogue CSV (docs/CATALOGUE_FORMAT.md) with images from a folder or zip. "
        "Runs here with a progress bar; --queue hands it to a Celery worker instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--images", type=Path, help="folder or .zip holding the images")
        parser.add_argument("--queue", action="store_true", help="enqueue and return at once")
        parser.add_argument(
            "--problems-csv", type=Path, help="also write every problem to this CSV file"
        )

    def handle(
        self,
        *args,
        csv: Path,
        images: Path | None,
        queue: bool,
        problems_csv: Path | None,
        **options,
    ):
        # Before the job exists: a typo costs no import.
        import_paths_check(csv, problems_csv, images=images)
        if images is not None and not images.exists():
            raise CommandError(f"{images} does not exist")
        try:
            with import_files_storing():
                job = import_job_create(csv_file=csv, images=images, enqueue=queue)
        except ImportFileTooLarge as exc:
            raise CommandError(str(exc)) from None
        if queue:
            self.stdout.write(f"Import #{job.pk} queued.")
            return
        import_run_in_foreground(
            self.stdout,
            job,
            IMPORT_STEPS,
            problems_path=problems_csv,
            verbosity=options["verbosity"],
        )
