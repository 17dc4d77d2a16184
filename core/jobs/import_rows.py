"""What every import job (catalogue, events) has in common: its lifecycle columns, how long it
ran and when it is finished, and the shape of its per-line report. One definition instead of a
copy per import model; each import adds its file fields, its counters and its `job` link."""

from django.db import models

from .heartbeat_fields import HeartbeatFields


class ImportJobRow(HeartbeatFields):
    """Abstract: one uploaded file's import and its outcome."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    cancel_requested = models.BooleanField(
        default=False, help_text="An admin asked the running import to stop."
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole job failed, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELLED}


class ImportLineReport(models.Model):
    """Abstract: what was wrong with one line of an import. The model adds `job` (its import)
    and `Level` with the `level` column."""

    line = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=200, blank=True)
    message = models.TextField()

    class Meta:
        abstract = True
        ordering = ["job", "line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
