"""What every import job row (catalogue, events) derives from its columns: one definition of
how long it ran and when it is finished, instead of one copy per import model."""

from .heartbeat_fields import HeartbeatFields


class ImportJobRow(HeartbeatFields):
    """Abstract: the model defines `State` (queued, running, succeeded, failed, cancelled) and the
    `state`, `started_at` and `finished_at` columns."""

    class Meta:
        abstract = True

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELLED}
