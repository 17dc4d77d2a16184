"""Reading a catalogue CSV: the header, then one ProductRow or RowProblem per data line.

Invalid UTF-8, NUL bytes, oversized fields, broken quoting and repeated SKUs each cost one row,
never the rows beside it. A quote left open is the exception: the reader takes every line after
it as part of one field, so those lines cost the rest of the file, and the problem names them.
"""

import csv
import io
from collections.abc import Iterator

from .errors import FieldError
from .fields import ATTRIBUTE_COLUMN_PREFIX, ERROR_TOO_LONG, REQUIRED_COLUMNS, build_row
from .records import CsvHeaderError, ProductRow, RowProblem

KNOWN_COLUMNS = {
    "sku",
    "title",
    "price",
    "currency",
    "description",
    "brand",
    "category",
    "tags",
    "attributes",
    "in_stock",
    "group_id",
    "active",
    "images",
}
MAX_FIELD_CHARS = 100_000  # a description longer than this is a broken export, not a product

ERROR_MISSING_COLUMNS = "missing required column(s): {columns}"
ERROR_INVALID_UTF8 = "{column} contains bytes that are not valid UTF-8"
ERROR_NUL = "{column} contains a NUL byte"
ERROR_DUPLICATE_SKU = "SKU {sku!r} already appeared on line {first_line}; this row is ignored"
ERROR_UNKNOWN_COLUMN = "unknown column {column!r} is ignored"
ERROR_TOO_MANY_FIELDS = "row has {count} fields but the header has {expected}"
ERROR_CSV_SYNTAX = "the CSV cannot be parsed: {reason}"
ERROR_CSV_SPAN = "; lines {first}–{last} were read as this one row, and none of them is imported"


def parse_catalogue_csv(data: bytes, *, default_currency: str) -> Iterator[ProductRow | RowProblem]:
    """Yield a ProductRow or RowProblem per data line, plus header warnings first.

    Raises CsvHeaderError when required columns are missing. Invalid UTF-8 is reported per field:
    the file is decoded with surrogateescape so one bad byte loses one row, not the file.
    """
    text = data.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvHeaderError(ERROR_MISSING_COLUMNS.format(columns=", ".join(REQUIRED_COLUMNS)))
    except csv.Error as exc:
        raise CsvHeaderError(ERROR_CSV_SYNTAX.format(reason=exc)) from exc
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise CsvHeaderError(ERROR_MISSING_COLUMNS.format(columns=", ".join(missing)))
    for column in header:
        if column not in KNOWN_COLUMNS and not column.startswith(ATTRIBUTE_COLUMN_PREFIX):
            yield RowProblem(
                1, ERROR_UNKNOWN_COLUMN.format(column=column), column, fatal_for_row=False
            )
    yield from _parse_rows(reader, header, default_currency)


def _parse_rows(reader, header: list[str], default_currency: str):
    first_line_of_sku: dict[str, int] = {}
    next_line = 2
    while True:
        line = next_line
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # Each next() starts a new record on the line after the one the error ended on, so
            # one broken row costs its own lines only.
            yield RowProblem(line, _syntax_error(exc, first=line, last=reader.line_num))
            next_line = reader.line_num + 1
            continue
        next_line = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are harmless
        result = _parse_row(line, header, cells, default_currency)
        if isinstance(result, ProductRow):
            first_line = first_line_of_sku.setdefault(result.sku, line)
            if first_line != line:
                result = RowProblem(
                    line,
                    ERROR_DUPLICATE_SKU.format(sku=result.sku, first_line=first_line),
                    "sku",
                    result.sku,
                )
        yield result


def _syntax_error(exc: csv.Error, *, first: int, last: int) -> str:
    error = ERROR_CSV_SYNTAX.format(reason=exc)
    return error + ERROR_CSV_SPAN.format(first=first, last=last) if last > first else error


def _parse_row(line: int, header: list[str], cells: list[str], default_currency: str):
    if len(cells) > len(header):
        return RowProblem(
            line, ERROR_TOO_MANY_FIELDS.format(count=len(cells), expected=len(header))
        )
    # Short rows are allowed (trailing empty cells are often dropped by exporters).
    values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
    sku = values.get("sku", "")
    for column, value in values.items():
        problem = _encoding_problem(column, value)
        if problem:
            return RowProblem(line, problem, column, _printable(sku))
    try:
        return build_row(line, values, default_currency)
    except FieldError as exc:
        return RowProblem(line, exc.message, exc.column, sku)


def _encoding_problem(column: str, value: str) -> str | None:
    if "\x00" in value:
        return ERROR_NUL.format(column=column)
    if any("\udc80" <= char <= "\udcff" for char in value):
        return ERROR_INVALID_UTF8.format(column=column)
    if len(value) > MAX_FIELD_CHARS:
        return ERROR_TOO_LONG.format(column=column, limit=MAX_FIELD_CHARS)
    return None


def _printable(value: str) -> str:
    return value.encode("utf-8", errors="replace").decode("utf-8")
