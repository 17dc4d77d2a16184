"""Reading an event CSV (docs/EVENTS_FORMAT.md): the header, then per line an event dict in
the API's shape or the line's problem, in chunks the import stores one at a time.

No database access and no event checks here: the import runs the API's checks on each dict
(behaviour.services.validation), so a file and a batch are refused for the same reasons. What
is checked here belongs to the file: its header, encoding, quoting and field counts, and what
the format adds to the API (the kind's default, a time zone for naive times, no returns).
"""

import csv
import datetime as dt
from collections.abc import Iterator
from operator import itemgetter
from typing import BinaryIO
from zoneinfo import ZoneInfo

from ..models import Event
from .lines import ERROR_CSV_SYNTAX, MAX_LINE_BYTES, UNSTORABLE_RE, file_lines, split_cells
from .records import CsvChunk, CsvHeaderError, EventRow, RowProblem

REQUIRED_COLUMNS = ("occurred_at", "visitor_id", "sku")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "kind", "order_id", "quantity", "unit_price", "event_id")
# Lines a chunk: one transaction and one progress write (and cancel check) each. Measured on a
# 300k-line file: 2,000 ~15% slower than 5,000; 20,000 no surer gain, and slower to cancel.
CHUNK_LINES = 5_000
MAX_ORDER_ID_CHARS = Event._meta.get_field("order_id").max_length
MAX_QUANTITY_DIGITS = 18  # read as a number up to here; validation then checks the range
MAX_CACHED_TIMES = 100_000  # an order's lines share its time: a hit saves a parse and a format
PURCHASE, VIEW = Event.Kind.PURCHASE.value, Event.Kind.VIEW.value
BLANK_CHARS = ' ,"\t'
# The order in which _Header.row takes the cells of a line.
PICKED_COLUMNS = (
    "event_id",
    "kind",
    "sku",
    "visitor_id",
    "occurred_at",
    "order_id",
    "quantity",
    "unit_price",
)

ERROR_MISSING_COLUMNS = "missing required column(s): {columns}"
ERROR_REPEATED_COLUMN = "column {column!r} appears more than once in the header"
ERROR_HEADER_SYNTAX = "the header cannot be parsed as CSV: {reason}"
ERROR_CR_ONLY = (
    "the lines end with a carriage return alone (an old Mac CSV): save the file with LF or CRLF "
    "line ends"
)
ERROR_UNKNOWN_COLUMN = "unknown column {column!r} is ignored"
ERROR_LINE_TOO_LONG = "the line is longer than {limit} bytes; it is skipped unread"
ERROR_TOO_MANY_FIELDS = "row has {count} fields but the header has {expected}"
ERROR_INVALID_UTF8 = "{column} contains bytes that are not valid UTF-8"
ERROR_NUL = "{column} contains a NUL byte"
ERROR_ORDER_ID_TOO_LONG = f"order_id is longer than {MAX_ORDER_ID_CHARS} characters"
ERROR_QUANTITY_NOT_POSITIVE = (
    "quantity {value} is not positive: cancellations and returns are not imported"
)


def read_event_csv(
    stream: BinaryIO, *, zone: ZoneInfo | None = None, chunk_lines: int = CHUNK_LINES
) -> Iterator[CsvChunk]:
    """Chunks of `chunk_lines` lines (the first also holds the header's warnings).

    Raises CsvHeaderError when the header is unusable. `zone` is the time zone of occurred_at
    values without a UTC offset; without one they stay naive, and the checks reject them.
    """
    lines = file_lines(stream)
    header, chunk = _header(next(lines, "")), CsvChunk()
    chunk.problems += header.warnings
    for number, text in enumerate(lines, start=2):
        chunk.lines += 1
        result = header.row(number, text, zone)
        if isinstance(result, EventRow):
            chunk.rows.append(result)
        elif result is not None:  # None: a blank line, harmless
            chunk.problems.append(result)
        if chunk.lines == chunk_lines:
            yield chunk
            chunk = CsvChunk()
    if chunk.lines or chunk.problems:
        yield chunk


class _Header:
    """The file's columns: turns one line into an EventRow, a RowProblem or None (blank)."""

    def __init__(self, names: list[str]):
        self.width = len(names)
        # A column the file lacks reads the empty cell appended after the last one.
        self.used = [(name, names.index(name)) for name in KNOWN_COLUMNS if name in names]
        index = dict.fromkeys(KNOWN_COLUMNS, self.width) | dict(self.used)
        self.pick = itemgetter(*(index[name] for name in PICKED_COLUMNS))
        self.warnings = [
            RowProblem(
                1,
                ERROR_UNKNOWN_COLUMN.format(column=name),
                printable(name)[:100],
                fatal_for_row=False,
            )
            for name in names
            if name not in KNOWN_COLUMNS
        ]
        self.zoned: dict[str, str] = {}  # naive text → the same moment with the zone's offset

    def row(
        self, line: int, text: str | None, zone: ZoneInfo | None
    ) -> EventRow | RowProblem | None:
        if text is None:
            return RowProblem(line, ERROR_LINE_TOO_LONG.format(limit=MAX_LINE_BYTES))
        if not text.strip(BLANK_CHARS):
            return None  # blank lines (or only separators) are harmless
        try:
            cells = split_cells(text)
        except csv.Error as exc:
            return RowProblem(line, ERROR_CSV_SYNTAX.format(reason=exc))
        if len(cells) > self.width:
            return RowProblem(
                line, ERROR_TOO_MANY_FIELDS.format(count=len(cells), expected=self.width)
            )
        # Short rows are allowed: exporters often drop trailing empty cells.
        cells = [cell.strip() for cell in cells]
        cells += [""] * (self.width + 1 - len(cells))
        event_id, kind, sku, visitor_id, occurred_at, order_id, quantity, price = self.pick(cells)
        if UNSTORABLE_RE.search(text):
            problem = self._encoding_problem(line, cells, sku)
            if problem:
                return problem
        if len(order_id) > MAX_ORDER_ID_CHARS:
            return RowProblem(line, ERROR_ORDER_ID_TOO_LONG, "order_id", sku)
        # Longer numbers stay text, which validation refuses as out of range: int() of a few
        # thousand digits raises, and would fail the whole file instead of one row.
        if quantity.isdigit() and quantity.isascii() and len(quantity) <= MAX_QUANTITY_DIGITS:
            quantity = int(quantity)
        elif (
            quantity[:1] == "-"
            and quantity[1:].isdigit()
            and quantity.isascii()
            and len(quantity) <= MAX_QUANTITY_DIGITS
        ):
            message = ERROR_QUANTITY_NOT_POSITIVE.format(value=int(quantity))
            return RowProblem(line, message, "quantity", sku)
        if quantity == 0:
            return RowProblem(line, ERROR_QUANTITY_NOT_POSITIVE.format(value=0), "quantity", sku)
        if zone is not None and occurred_at:
            occurred_at = self._zoned(occurred_at, zone)
        # An empty cell is an absent field, as if the key were left out of the API's JSON.
        event = {
            "event_id": event_id or None,
            "kind": kind or (PURCHASE if order_id else VIEW),
            "sku": sku or None,
            "visitor_id": visitor_id or None,
            "occurred_at": occurred_at or None,
            "order_id": order_id or None,
            "quantity": quantity if quantity != "" else None,
            "unit_price": price or None,
        }
        return EventRow(line, event)

    def _encoding_problem(self, line: int, cells: list[str], sku: str) -> RowProblem | None:
        """The first used column holding a NUL or undecodable bytes (ignored columns may)."""
        for name, index in self.used:
            if "\x00" in cells[index]:
                return RowProblem(line, ERROR_NUL.format(column=name), name, printable(sku))
            if UNSTORABLE_RE.search(cells[index]):
                message = ERROR_INVALID_UTF8.format(column=name)
                return RowProblem(line, message, name, printable(sku))
        return None

    def _zoned(self, text: str, zone: ZoneInfo) -> str:
        zoned = self.zoned.get(text)
        if zoned is None:
            zoned = _with_zone(text, zone)
            if len(self.zoned) >= MAX_CACHED_TIMES:
                self.zoned.clear()
            self.zoned[text] = zoned
        return zoned


def _with_zone(text: str, zone: ZoneInfo) -> str:
    """A naive ISO 8601 time as the same wall-clock time in `zone` (the earlier of an autumn
    hour that happens twice); anything else, unparsable text included, as it is."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    return moment.replace(tzinfo=zone).isoformat()


def _header(text: str | None) -> _Header:
    if text is None:
        raise CsvHeaderError(ERROR_MISSING_COLUMNS.format(columns=", ".join(REQUIRED_COLUMNS)))
    if "\r" in text.rstrip("\r"):  # read as one line: every row would pass as header cells
        raise CsvHeaderError(ERROR_CR_ONLY)
    try:
        names = [name.strip().lower() for name in split_cells(text)] if text else []
    except csv.Error as exc:
        raise CsvHeaderError(ERROR_HEADER_SYNTAX.format(reason=exc)) from exc
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise CsvHeaderError(ERROR_MISSING_COLUMNS.format(columns=", ".join(missing)))
    for name in KNOWN_COLUMNS:
        if names.count(name) > 1:
            raise CsvHeaderError(ERROR_REPEATED_COLUMN.format(column=name))
    return _Header(names)


def printable(value: str) -> str:
    """The text with what PostgreSQL cannot store (NUL, undecodable bytes) shown as U+FFFD."""
    return UNSTORABLE_RE.sub("\ufffd", value)
