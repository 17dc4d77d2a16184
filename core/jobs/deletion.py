"""Deleting job rows that name uploaded files (catalogue and event imports): the rows go, and
their files once that commits (file_delete_on_commit, also how an event import's end removes its
raw file); a running job is kept, because its worker still reads the files
and writes the row. It is cancelled first, and deleted once it has ended."""

from collections.abc import Sequence

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
                field_file = getattr(job, name)
                file_delete_on_commit(field_file.storage, field_file.name)
    return len(gone), len(locked) - len(gone)


def file_delete_on_commit(storage, name: str) -> None:
    """Delete the stored file `name` (nothing when empty) once the current transaction commits,
    or now in autocommit: rolled back, the row would name a file that is gone. Robust: a file
    that cannot be removed is logged, and does not turn the committed write into an error."""
    if not name:
        return

    # A function, not functools.partial: Django names a failed robust callback by __qualname__,
    # which a partial lacks, so the failure it should log became an AttributeError.
    def stored_file_delete():
        storage.delete(name)

    transaction.on_commit(stored_file_delete, robust=True)
