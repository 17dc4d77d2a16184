"""An import run by a management command in the foreground: a progress bar over the job's
rows, Ctrl-C as a cancel, the summary and the problems file at the end. The catalogue and the
event imports share it, so both commands behave alike."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from .ending import job_end
from .heartbeat import ClaimLost

ERROR_UNEXPECTED = "the import stopped on an unexpected error ({error}); it is not retried"
ERROR_COMMAND_UNEXPECTED = "import #{pk}: {error} (run with --traceback for the details)"
ERROR_PROBLEMS_FOLDER = "--problems-csv: the folder {folder} does not exist"
ERROR_NOT_A_FILE = "{path} is not a file"
ERROR_PROBLEMS_IS_FOLDER = "--problems-csv: {path} is a folder; name the file to write"
ERROR_PROBLEMS_IS_INPUT = (
    "--problems-csv: {path} is the import's own input, which the problems would replace; "
    "name another file"
)
ERROR_UNREADABLE = "{path} cannot be read: {reason}"
ERROR_NOT_STORED = "the import's files could not be stored: {error}"
ERROR_INTERRUPTED_STORING = "interrupted while the import's files were stored; no import was made"
ERROR_NOTHING_KEPT = (
    "nothing was imported: all {rejected} lines were rejected (the summary above, and "
    "--problems-csv, say why)"
)


@dataclass(frozen=True)
class ImportCommandSteps:
    """The import's own services: run(job_id=, progress=), cancel(job=), summary(job) and
    problems_csv(job); counts(job) gives its (lines kept, lines rejected); end(job, state=,
    error=) ends a job that an unexpected error stopped (the import's lifecycle end where it
    keeps more than the row, such as a file to delete)."""

    run: Callable
    cancel: Callable
    summary: Callable
    problems_csv: Callable
    counts: Callable
    end: Callable = job_end


def import_paths_check(
    csv: Path, problems_path: Path | None, *, images: Path | None = None
) -> None:
    """CommandError unless `csv` is a readable file, the problems file's folder exists and the
    problems file is neither a folder nor one of the inputs (`csv`, `images`): checked before the
    job is created, so a typo costs no import."""
    if not csv.exists():
        raise CommandError(f"{csv} does not exist")
    if not csv.is_file():
        raise CommandError(ERROR_NOT_A_FILE.format(path=csv))
    try:
        with open(csv, "rb"):
            pass
    except OSError as exc:  # another user's file, a mount this user may not read
        raise CommandError(ERROR_UNREADABLE.format(path=csv, reason=exc.strerror or exc)) from None
    if problems_path and not problems_path.parent.is_dir():
        raise CommandError(ERROR_PROBLEMS_FOLDER.format(folder=problems_path.parent))
    if problems_path and problems_path.is_dir():
        raise CommandError(ERROR_PROBLEMS_IS_FOLDER.format(path=problems_path))
    inputs = {path.resolve() for path in (csv, images) if path is not None}
    if problems_path and problems_path.resolve() in inputs:  # written once the import has run
        raise CommandError(ERROR_PROBLEMS_IS_INPUT.format(path=problems_path))


@contextmanager
def import_files_storing() -> Iterator[None]:
    """Around the service that copies a command's input files into the media folder: Ctrl-C
    (a multi-GB zip takes a while) or a file it cannot read or store is a CommandError, as
    failures of the import itself are. The service has removed whatever it had stored."""
    try:
        yield
    except KeyboardInterrupt:
        raise CommandError(ERROR_INTERRUPTED_STORING) from None
    except OSError as exc:
        raise CommandError(ERROR_NOT_STORED.format(error=exc)) from exc


def import_run_in_foreground(
    stdout, job, steps: ImportCommandSteps, *, problems_path: Path | None, verbosity: int
):
    """Run the created `job` here; raise CommandError when it failed or was cancelled.

    Whatever stops the run, the job ends here: left `running`, the reaper would hand it to a
    worker that fails the same way, and an event import would keep its raw file meanwhile."""
    try:
        with tqdm(total=0, unit="line", disable=verbosity == 0) as bar:
            job = steps.run(job_id=job.pk, progress=lambda job: _advance(bar, job))
    except KeyboardInterrupt:
        # Ctrl-C: a running import has ended itself `cancelled`; one not yet started ends now.
        job = steps.cancel(job=job)
    except Exception as exc:
        # The error's name only: its text may quote the file's lines (raw visitor ids).
        error = ERROR_UNEXPECTED.format(error=type(exc).__name__)
        _end_failed(job, steps, error)
        raise CommandError(ERROR_COMMAND_UNEXPECTED.format(pk=job.pk, error=error)) from exc
    stdout.write(steps.summary(job))
    if problems_path:
        problems_path.write_text(steps.problems_csv(job), encoding="utf-8")
    if job.state in (job.State.FAILED, job.State.CANCELLED):
        raise CommandError(job.error)
    kept, rejected = steps.counts(job)
    if rejected and not kept:  # a script or cron job must notice (the job itself succeeded)
        raise CommandError(ERROR_NOTHING_KEPT.format(rejected=rejected))
    return job


def _end_failed(job, steps: ImportCommandSteps, error: str) -> None:
    # The row as the run left it: its attempt is the claim that may end it.
    row = type(job).objects.filter(pk=job.pk).first()
    if row is None or row.is_finished:
        return
    with suppress(ClaimLost):  # ended or taken over meanwhile: the row is someone else's now
        steps.end(row, state=row.State.FAILED, error=error)


def _advance(bar: tqdm, job) -> None:
    bar.total = job.rows_total
    bar.update(job.rows_done - bar.n)
