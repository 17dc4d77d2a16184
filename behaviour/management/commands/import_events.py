from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from behaviour.services.imports import (
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_problems_csv,
    event_import_job_run,
    event_import_job_summary,
)
from behaviour.services.imports.jobs import IMPORTS
from core.jobs.foreground import (
    ImportCommandSteps,
    import_files_storing,
    import_paths_check,
    import_run_in_foreground,
)

IMPORT_STEPS = ImportCommandSteps(
    run=event_import_job_run,
    cancel=event_import_job_cancel,
    summary=event_import_job_summary,
    problems_csv=event_import_job_problems_csv,
    counts=lambda job: (job.accepted_count + job.duplicate_count, job.rejected_count),
    end=IMPORTS.end,  # deletes the uploaded file too
)


class Command(BaseCommand):
    help = (
        "Import an order or event history CSV (docs/EVENTS_FORMAT.md; import the catalogue "
        "first). Runs here with a progress bar; --queue hands it to a Celery worker instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--queue", action="store_true", help="enqueue and return at once")
        parser.add_argument(
            "--timezone",
            default="",
            help="IANA time zone (e.g. Europe/London) of times without a UTC offset; "
            "without it such lines are rejected",
        )
        parser.add_argument(
            "--problems-csv", type=Path, help="also write every problem to this CSV file"
        )

    def handle(self, *args, csv: Path, queue: bool, timezone: str, problems_csv, **options):
        import_paths_check(csv, problems_csv)
        try:
            with import_files_storing():
                job = event_import_job_create(csv_file=csv, time_zone=timezone, enqueue=queue)
        except ValueError as exc:  # an unknown time zone
            raise CommandError(str(exc)) from None
        if queue:
            self.stdout.write(f"Event import #{job.pk} queued.")
            return
        import_run_in_foreground(
            self.stdout,
            job,
            IMPORT_STEPS,
            problems_path=problems_csv,
            verbosity=options["verbosity"],
        )
