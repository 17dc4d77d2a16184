"""Read an order or event history CSV (docs/EVENTS_FORMAT.md) into the API's event dicts.

No database access and no event checks here: the import service runs the API's checks on each
dict and decides what to write. Every problem of the file itself becomes a `RowProblem` with its
line number and column, and reading continues with the next line.
"""

from .lines import ERROR_CSV_SYNTAX, MAX_LINE_BYTES, data_line_count
from .reader import (
    CHUNK_LINES,
    ERROR_HEADER_SYNTAX,
    ERROR_INVALID_UTF8,
    ERROR_LINE_TOO_LONG,
    ERROR_MISSING_COLUMNS,
    ERROR_NUL,
    ERROR_ORDER_ID_TOO_LONG,
    ERROR_QUANTITY_NOT_POSITIVE,
    ERROR_REPEATED_COLUMN,
    ERROR_TOO_MANY_FIELDS,
    ERROR_UNKNOWN_COLUMN,
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
    printable,
    read_event_csv,
)
from .records import CsvChunk, CsvHeaderError, EventRow, RowProblem
from .zones import ERROR_UNKNOWN_TIME_ZONE, time_zone_named

__all__ = [
    "CHUNK_LINES",
    "ERROR_CSV_SYNTAX",
    "ERROR_HEADER_SYNTAX",
    "ERROR_INVALID_UTF8",
    "ERROR_LINE_TOO_LONG",
    "ERROR_MISSING_COLUMNS",
    "ERROR_NUL",
    "ERROR_ORDER_ID_TOO_LONG",
    "ERROR_QUANTITY_NOT_POSITIVE",
    "ERROR_REPEATED_COLUMN",
    "ERROR_TOO_MANY_FIELDS",
    "ERROR_UNKNOWN_COLUMN",
    "ERROR_UNKNOWN_TIME_ZONE",
    "KNOWN_COLUMNS",
    "MAX_LINE_BYTES",
    "REQUIRED_COLUMNS",
    "CsvChunk",
    "CsvHeaderError",
    "EventRow",
    "RowProblem",
    "data_line_count",
    "printable",
    "read_event_csv",
    "time_zone_named",
]
