"""Reading a catalogue CSV: the header, then one ProductRow or RowProblem per data line.

Invalid UTF-8, NUL bytes, oversized fields, broken quoting and repeated SKUs each cost one row,
never the rows beside it. A quote left open is the exception: the reader takes every line after
it as part of one field, so those lines cost the rest of the file, and the problem names them.
In the header, such a name costs only its column (ignored, with a warning); a UTF-16 file, or a
name given twice, costs the file.
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

# Excel's "Unicode text" and many Windows tools write UTF-16 (or, rarely, UTF-32). Such a file
# could be decoded, but Excel's is tab-separated too: saving it as "CSV UTF-8" fixes both.
WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",  # before UTF-16 LE's, which it starts with
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
# Without a BOM, UTF-16 of a Latin header is every other byte NUL (UTF-32: three in four); a NUL
# or two in one column's name is that column's problem, not the file's.
WIDE_NUL_SHARE = 0.25
WIDE_SNIFF_BYTES = 4096  # more than any real header line

ERROR_WIDE_ENCODING = (
    'the file is {encoding}, not UTF-8: save it from your spreadsheet as "CSV UTF-8" '
    "(comma delimited) and upload that"
)
ERROR_MISSING_COLUMNS = "missing required column(s): {columns}"
ERROR_EMPTY_FILE = "the file is empty"
ERROR_ZIP = (
    "the file is a zip archive or an Excel workbook (.xlsx), not a CSV: save it from your "
    'spreadsheet as "CSV UTF-8" (comma delimited) and upload that'
)
ERROR_DELIMITER = (
    "the file's columns are separated by {name}, not commas: save it from your spreadsheet as "
    '"CSV UTF-8" (comma delimited) and upload that'
)
# What European Excel and "text" exports separate columns with (the header tells).
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
ZIP_MAGIC = b"PK\x03\x04"
ERROR_REPEATED_COLUMN = "column {column!r} appears more than once in the header"
ERROR_UNREADABLE_COLUMN = (
    "column {column!r} is ignored: its name holds a NUL or bytes that are not valid UTF-8 "
    '(save the file as "CSV UTF-8")'
)
ERROR_INVALID_UTF8 = "{column} contains bytes that are not valid UTF-8"
ERROR_NUL = "{column} contains a NUL byte"
ERROR_DUPLICATE_SKU = "SKU {sku!r} already appeared on line {first_line}; this row is ignored"
ERROR_UNKNOWN_COLUMN = "unknown column {column!r} is ignored"
ERROR_TOO_MANY_FIELDS = "row has {count} fields but the header has {expected}"
ERROR_CSV_SYNTAX = "the CSV cannot be parsed: {reason}"
ERROR_CSV_SPAN = "; lines {first}–{last} were read as this one row, and none of them is imported"


def parse_catalogue_csv(data: bytes, *, default_currency: str) -> Iterator[ProductRow | RowProblem]:
    """Yield a ProductRow or RowProblem per data line, plus header warnings first.

    Raises CsvHeaderError when the file is UTF-16/32, required columns are missing or a column
    is named twice. Invalid UTF-8 is reported per field: the file is decoded with
    surrogateescape so one bad byte loses one row (or, in the header, one column), not the file.
    """
    if data.startswith(ZIP_MAGIC):  # before the UTF-16 check: a zip's header holds NULs too
        raise CsvHeaderError(ERROR_ZIP)
    _refuse_wide_encoding(data)
    text = data.decode("utf-8-sig", errors="surrogateescape")
    if not text.strip():
        raise CsvHeaderError(ERROR_EMPTY_FILE)
    # The csv module refuses a field over its limit (131,072 characters by default) and then
    # reads the rest of that field as rows of its own; a field this long is one row's problem
    # (MAX_FIELD_CHARS), so no field of this file may reach the module's limit. The limit is
    # process-wide and only ever raised.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        names = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvHeaderError(ERROR_MISSING_COLUMNS.format(columns=", ".join(REQUIRED_COLUMNS)))
    except csv.Error as exc:
        raise CsvHeaderError(ERROR_CSV_SYNTAX.format(reason=exc)) from exc
    # An unreadable name becomes None: its column is ignored, as no key or message could hold it.
    header = [None if _unstorable(name) else name for name in names]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise CsvHeaderError(
            _other_delimiter(names) or ERROR_MISSING_COLUMNS.format(columns=", ".join(missing))
        )
    for column in header:
        if column is not None and _is_used(column) and header.count(column) > 1:
            # Read as one column, the later cell would silently win on every row.
            raise CsvHeaderError(ERROR_REPEATED_COLUMN.format(column=column))
    for name, column in zip(names, header, strict=True):
        if column is None:
            message = ERROR_UNREADABLE_COLUMN.format(column=_printable(name))
            yield RowProblem(1, message, _printable(name), fatal_for_row=False)
        elif not _is_used(column):
            message = ERROR_UNKNOWN_COLUMN.format(column=column)
            yield RowProblem(1, message, column, fatal_for_row=False)
    yield from _parse_rows(reader, header, default_currency)


def _other_delimiter(names: list[str]) -> str | None:
    """Why a header without the required columns has them after all, split at another
    delimiter; None when it does not."""
    line = ",".join(names)
    for delimiter, name in OTHER_DELIMITERS.items():
        split = {part.strip().lower() for part in line.split(delimiter)}
        if all(column in split for column in REQUIRED_COLUMNS):
            return ERROR_DELIMITER.format(name=name)
    return None


def _refuse_wide_encoding(data: bytes) -> None:
    """CsvHeaderError for a UTF-16 or UTF-32 file, which would otherwise be read as a header
    of garbled names and refused for "missing required column(s)"."""
    encoding = next((name for bom, name in WIDE_BOMS.items() if data.startswith(bom)), None)
    first_line = data[:WIDE_SNIFF_BYTES].split(b"\n", 1)[0]
    if encoding is None and first_line.count(0) > WIDE_NUL_SHARE * len(first_line):
        encoding = "UTF-16"
    if encoding is not None:
        raise CsvHeaderError(ERROR_WIDE_ENCODING.format(encoding=encoding))


def _is_used(column: str) -> bool:
    return column in KNOWN_COLUMNS or column.startswith(ATTRIBUTE_COLUMN_PREFIX)


def _parse_rows(reader, header: list[str | None], default_currency: str):
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


def _parse_row(line: int, header: list[str | None], cells: list[str], default_currency: str):
    if len(cells) > len(header):
        return RowProblem(
            line, ERROR_TOO_MANY_FIELDS.format(count=len(cells), expected=len(header))
        )
    # Short rows are allowed (trailing empty cells are often dropped by exporters).
    pairs = zip(header, (cell.strip() for cell in cells), strict=False)
    # An unknown column is ignored (reported once, on line 1): what its cells hold costs no row.
    values = {column: value for column, value in pairs if column is not None and _is_used(column)}
    sku = values.get("sku", "")
    for column, value in values.items():
        problem = _encoding_problem(column, value)
        if problem:
            return RowProblem(line, problem, column, _printable(sku))
    try:
        return build_row(line, values, default_currency)
    except FieldError as exc:
        return RowProblem(line, exc.message, exc.column, _printable(sku))


def _encoding_problem(column: str, value: str) -> str | None:
    if "\x00" in value:
        return ERROR_NUL.format(column=column)
    if any("\udc80" <= char <= "\udcff" for char in value):
        return ERROR_INVALID_UTF8.format(column=column)
    if len(value) > MAX_FIELD_CHARS:
        return ERROR_TOO_LONG.format(column=column, limit=MAX_FIELD_CHARS)
    return None


def _unstorable(value: str) -> bool:
    return "\x00" in value or any("\udc80" <= char <= "\udcff" for char in value)


def _printable(value: str) -> str:
    """The text with what PostgreSQL cannot store (NUL, undecodable bytes) shown as U+FFFD."""
    return "".join("\ufffd" if _unstorable(char) else char for char in value)
