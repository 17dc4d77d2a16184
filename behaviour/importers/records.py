"""What reading an event CSV yields: chunks of event dicts and the problems of their lines."""

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class RowProblem:
    """Why a line (or, with line 1, the header) could not be used as it is."""

    line: int
    message: str
    column: str = ""
    sku: str = ""
    fatal_for_row: bool = True


class EventRow(NamedTuple):
    """One line as the API's event dict (behaviour.services.validation checks it); `event_id`
    is None when the file gives none (the import derives one from the content)."""

    line: int
    event: dict


@dataclass
class CsvChunk:
    """Consecutive lines of the file: `lines` counts them all, blank ones included."""

    lines: int = 0
    rows: list[EventRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


class CsvHeaderError(ValueError):
    """The header makes the whole file unusable (e.g. no sku column)."""
