"""Order and event history imports (docs/EVENTS_FORMAT.md): a job reads its CSV a chunk of lines
at a time, checks each line with the API's checks, and stores a chunk's new events in one
transaction with one statement (key table first, as events_record does). Every line is counted
accepted, duplicate or rejected, and each rejection is listed with its line and reason; a rerun
of the same file, interrupted or not, stores nothing twice.

  jobs       create, run (core.jobs lifecycle), cancel, time out
  chunks     one chunk: checked, its SKUs resolved, stored, its problems listed
  pipeline   chunks stored by two writer threads while the next one is read and checked
  checks     event_check at file speed; the ids derived for lines without one; COPY rows
  collector  the garbage collector held off while chunks stream through
  reports    the command's summary, the problems as CSV
"""

from .checks import DERIVED_ID_PREFIX, EventChecks
from .chunks import ERROR_MORE_PROBLEMS, ERROR_TIME_NAIVE_CSV, ERROR_UNKNOWN_SKU
from .jobs import (
    ERROR_CANCELLED_QUEUED,
    ERROR_CANCELLED_RUNNING,
    ERROR_FILE_MISSING,
    ERROR_INTERRUPTED,
    CsvTooLarge,
    csv_size_check,
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_run,
    event_import_job_time_out,
    event_import_jobs_delete,
    events_import,
)
from .reports import event_import_job_problems_csv, event_import_job_summary

__all__ = [
    "CsvTooLarge",
    "DERIVED_ID_PREFIX",
    "ERROR_CANCELLED_QUEUED",
    "ERROR_CANCELLED_RUNNING",
    "ERROR_FILE_MISSING",
    "ERROR_INTERRUPTED",
    "ERROR_MORE_PROBLEMS",
    "ERROR_TIME_NAIVE_CSV",
    "ERROR_UNKNOWN_SKU",
    "EventChecks",
    "csv_size_check",
    "event_import_job_cancel",
    "event_import_job_create",
    "event_import_job_problems_csv",
    "event_import_job_run",
    "event_import_job_summary",
    "event_import_job_time_out",
    "event_import_jobs_delete",
    "events_import",
]
