"""An import run by a management command in the foreground: a progress bar over the job's
rows, Ctrl-C as a cancel, the summary and the problems file at the end. The catalogue and the
event imports share it, so both commands behave alike."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm


@dataclass(frozen=True)
class ImportCommandSteps:
    """The import's own services: run(job_id=, progress=), cancel(job=), summary(job) and
    problems_csv(job)."""

    run: Callable
    cancel: Callable
    summary: Callable
    problems_csv: Callable


def import_run_in_foreground(
    stdout, job, steps: ImportCommandSteps, *, problems_path: Path | None, verbosity: int
):
    """Run the created `job` here; raise CommandError when it failed or was cancelled."""
    try:
        with tqdm(total=0, unit="line", disable=verbosity == 0) as bar:
            job = steps.run(job_id=job.pk, progress=lambda job: _advance(bar, job))
    except KeyboardInterrupt:
        # Ctrl-C: a running import has ended itself `cancelled`; one not yet started ends now.
        job = steps.cancel(job=job)
    stdout.write(steps.summary(job))
    if problems_path:
        problems_path.write_text(steps.problems_csv(job), encoding="utf-8")
    if job.state in (job.State.FAILED, job.State.CANCELLED):
        raise CommandError(job.error)
    return job


def _advance(bar: tqdm, job) -> None:
    bar.total = job.rows_total
    bar.update(job.rows_done - bar.n)
