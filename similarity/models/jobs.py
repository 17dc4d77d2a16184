from django.db import models

from core.jobs.heartbeat_fields import HeartbeatFields

from .versions import ModelVersion


class Job(HeartbeatFields):
    """A training or embedding job on the `ml` queue; progress is what the admin shows live."""

    class Kind(models.TextChoices):
        TRAIN = "train"
        EMBED = "embed"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        TIMED_OUT = "timed_out"  # the task's soft or hard time limit ended it

    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True
    )
    params = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True, help_text="Notable events, e.g. a weights fallback.")
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {
            self.State.SUCCEEDED,
            self.State.FAILED,
            self.State.CANCELLED,
            self.State.TIMED_OUT,
        }
