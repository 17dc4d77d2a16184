from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.services import import_job_cancel, import_job_create, import_job_run
from catalog.services.reports import import_job_problems_csv, import_job_summary


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
        for path in filter(None, [csv, images]):
            if not path.exists():
                raise CommandError(f"{path} does not exist")
        job = import_job_create(csv_file=csv, images=images, enqueue=queue)
        if queue:
            self.stdout.write(f"Import #{job.pk} queued.")
            return
        try:
            with tqdm(total=0, unit="row", disable=options["verbosity"] == 0) as bar:
                job = import_job_run(job_id=job.pk, progress=lambda job: _advance(bar, job))
        except KeyboardInterrupt:
            # Ctrl-C: a running import has ended itself `cancelled`; one not yet started ends now.
            job = import_job_cancel(job=job)
        self.stdout.write(import_job_summary(job))
        if problems_csv:
            problems_csv.write_text(import_job_problems_csv(job), encoding="utf-8")
        if job.state in (job.State.FAILED, job.State.CANCELLED):
            raise CommandError(job.error)


def _advance(bar: tqdm, job) -> None:
    bar.total = job.rows_total
    bar.update(job.rows_done - bar.n)
