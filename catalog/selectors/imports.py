"""An import job's live state, as the admin's progress endpoint returns it."""

from datetime import datetime

from core.jobs import rows_live_state

from ..models import ImportJob

IMPORT_COUNTS = (
    "created_count",
    "updated_count",
    "unchanged_count",
    "failed_count",
    "images_added",
    "images_rejected",
)


def import_job_progress(*, job: ImportJob, now: datetime | None = None) -> dict:
    """The import's state and counts, as the admin's progress endpoint returns them."""
    return rows_live_state(job, counts=IMPORT_COUNTS, now=now)
