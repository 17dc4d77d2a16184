"""Background jobs whose state lives in a database row (catalogue imports, training, embedding):
one lifecycle, one progress writer, one cancel path, one live admin page.

  protocol   the row's fields the rest relies on (JobRow)
  cancel     an admin's cancel request, the worker's flag check, JobCancelled
  progress   ProgressWriter (write every N units, then check the flag), live_state
  lifecycle  JobLifecycle: claim (bounded attempts), run, end, time out
  ending     job_end: the row's end, only by the claim that holds it
  delivery   which task delivery holds a job (time limits, outage retries)
  heartbeat  the running job's proof of life; every beat and end checks the claim (ClaimLost)
  holders    who holds a job: silence, a live holder, the admin's heartbeat line and warning
  reaper     requeues silent jobs once (beat; manage.py reap_jobs)
  tasks      JobTask: Celery time limits end the row; a lost claim stops quietly; the reaper task
  admin      LiveJobAdminMixin: the live page, its JSON progress view, Cancel button and action;
             WorkJobAdminMixin: a job that works on a version is a record, deleted once finished
  import_rows  the columns and line-report shape every import job (catalogue, events) shares
  foreground   an import command's run: progress bar, Ctrl-C as cancel, summary, problems file
  deletion     deleting import jobs: running ones kept, the others' uploaded files once it commits
  stored_files an import's uploads stored under a name that fits, deleted if no job is made
"""

from .cancel import JobCancelled, is_cancel_requested, request_cancel
from .ending import job_end
from .heartbeat import ClaimLost
from .lifecycle import JobLifecycle
from .progress import ProgressWriter, live_state, rows_live_state

__all__ = [
    "ClaimLost",
    "JobCancelled",
    "JobLifecycle",
    "ProgressWriter",
    "is_cancel_requested",
    "job_end",
    "live_state",
    "request_cancel",
    "rows_live_state",
]
