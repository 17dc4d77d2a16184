"""Deleting job rows that name uploaded files (catalogue and event imports): the rows go, and
their files once that commits; a running job is kept, because its worker still reads the files
and writes the row. It is cancelled first, and deleted once it has ended."""

from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.db.models import QuerySet


def jobs_delete_with_files(*, jobs: QuerySet, file_fields: Sequence[str]) -> tuple[int, int]:
    """Delete the jobs no worker runs and the files their `file_fields` (FileField names) hold;
    return (deleted, kept running).

    The row lock orders this against a worker's claim: a job claimed since the caller chose it
    (the admin's confirmation page) is seen running here and kept."""
    running = jobs.model.State.RUNNING
    with transaction.atomic():
        locked = list(jobs.select_for_update())
        gone = [job for job in locked if job.state != running]
        jobs.model.objects.filter(pk__in=[job.pk for job in gone]).delete()
        for job in gone:
            for name in file_fields:
                _file_delete_on_commit(getattr(job, name))
    return len(gone), len(locked) - len(gone)


def _file_delete_on_commit(field_file) -> None:
    # Only once the delete commits: rolled back, the row would name a file that is gone. Robust:
    # a file that cannot be removed must not turn the committed delete into an error.
    if field_file.name:
        transaction.on_commit(partial(field_file.storage.delete, field_file.name), robust=True)
