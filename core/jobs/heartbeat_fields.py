"""The columns a running job's heartbeat writes (when its attempt was claimed, worker, time,
phase): an abstract model that every job row mixes in, so the reaper reads one shape for all job
kinds."""

from django.db import models


class HeartbeatFields(models.Model):
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the current attempt began (started_at keeps the first attempt's).",
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker running this job last said it was alive."
    )
    heartbeat_worker = models.CharField(
        max_length=200, blank=True, help_text="host:pid of the worker that wrote the heartbeat."
    )
    heartbeat_phase = models.CharField(
        max_length=100, blank=True, help_text="What the worker was doing at its last heartbeat."
    )

    class Meta:
        abstract = True
