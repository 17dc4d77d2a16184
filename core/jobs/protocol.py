"""The fields a job row needs for core.jobs to run its lifecycle (catalog.ImportJob and
similarity.Job have them): one protocol instead of one copy of the lifecycle per model.

Besides these attributes, the model has a `State` TextChoices with at least QUEUED, RUNNING,
SUCCEEDED, FAILED and CANCELLED, and `is_finished` is true exactly in its end states.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar


class JobRow(Protocol):
    pk: Any
    state: str
    attempts: int  # deliveries that began the work: bounds a job whose worker dies every time
    cancel_requested: bool  # set by an admin; the worker checks it between units of work
    error: str  # why the job ended other than `succeeded`; "" otherwise
    started_at: datetime | None  # the first claim; a redelivery keeps it
    claimed_at: datetime | None  # this attempt's claim (HeartbeatFields)
    finished_at: datetime | None

    @property
    def is_finished(self) -> bool: ...

    def save(self, *, update_fields: Iterable[str]) -> None: ...


J = TypeVar("J", bound=JobRow)
