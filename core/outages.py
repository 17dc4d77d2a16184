"""Failures that mean "a server went away", not "this job is wrong": tasks retry them.

A PostgreSQL restart ends every open session with OperationalError (or InterfaceError on a
connection that was already closed). The job itself is fine, so the task is sent again a little
later instead of failing its row; the job's own attempt counter still bounds the total work.
"""

from django.conf import settings
from django.db import InterfaceError, OperationalError

DATABASE_OUTAGE = (OperationalError, InterfaceError)

# Celery retry options for job tasks. Backoff 2, 4, 8 ... s capped at 60 s: a fast restart is
# over in seconds, a slow one in a minute or two; 8 retries cover about four minutes of outage.
# The longest countdown must stay below the broker's visibility timeout (tested in tests/faults).
# Once the retries run out the task fails and its job falls silent: the reaper requeues it when
# the database is back (core.jobs.reaper), however long the outage was.
RETRY_ON_DATABASE_OUTAGE = {
    "autoretry_for": DATABASE_OUTAGE,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
    "max_retries": settings.PRODSIM_OUTAGE_MAX_RETRIES,
}
