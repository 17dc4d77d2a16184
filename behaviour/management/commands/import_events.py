from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from behaviour.services.imports import (
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_problems_csv,
    event_import_job_run,
    event_import_job_summary,
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
        if not csv.exists():
            raise CommandError(f"{csv} does not exist")
        try:
            job = event_import_job_create(csv_file=csv, time_zone=timezone, enqueue=queue)
        except ValueError as exc:  # an unknown time zone
            raise CommandError(str(exc)) from None
        if queue:
            self.stdout.write(f"Event import #{job.pk} queued.")
            return
        try:
            with tqdm(total=0, unit="line", disable=options["verbosity"] == 0) as bar:
                job = event_import_job_run(job_id=job.pk, progress=lambda job: _advance(bar, job))
        except KeyboardInterrupt:
            # Ctrl-C: a running import has ended itself `cancelled`; one not yet started ends now.
            job = event_import_job_cancel(job=job)
        self.stdout.write(event_import_job_summary(job))
        if problems_csv:
            problems_csv.write_text(event_import_job_problems_csv(job), encoding="utf-8")
        if job.state in (job.State.FAILED, job.State.CANCELLED):
            raise CommandError(job.error)


def _advance(bar: tqdm, job) -> None:
    bar.total = job.rows_total
    bar.update(job.rows_done - bar.n)
