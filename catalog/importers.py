"""Parse and validate a catalogue CSV (docs/CATALOGUE_FORMAT.md) into typed rows.

No database access here: the import service decides what to write. Every problem becomes a
`RowProblem` with its line number and column, and parsing continues with the next row.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .models import CATEGORY_PATH_SEPARATOR

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
REQUIRED_COLUMNS = ("sku", "title", "price")
ATTRIBUTE_COLUMN_PREFIX = "attr:"
LIST_SEPARATOR = "|"
MAX_FIELD_CHARS = 100_000  # a description longer than this is a broken export, not a product
MAX_LENGTHS = {"sku": 64, "title": 300, "brand": 200, "group_id": 64, "category": 1000}
TRUE_VALUES = {"true", "1", "yes", "y"}
FALSE_VALUES = {"false", "0", "no", "n"}
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
PRICE_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")

ERROR_MISSING_COLUMNS = "missing required column(s): {columns}"
ERROR_REQUIRED = "{column} is required"
ERROR_TOO_LONG = "{column} is longer than {limit} characters"
ERROR_PRICE = "price {value!r} is not a non-negative amount with at most 2 decimals"
ERROR_CURRENCY = "currency {value!r} is not a three-letter ISO 4217 code"
ERROR_BOOLEAN = "{column} {value!r} is not one of true/false, yes/no, 1/0"
ERROR_ATTRIBUTES = "attributes is not a JSON object: {reason}"
ERROR_INVALID_UTF8 = "{column} contains bytes that are not valid UTF-8"
ERROR_NUL = "{column} contains a NUL byte"
ERROR_DUPLICATE_SKU = "SKU {sku!r} already appeared on line {first_line}; this row is ignored"
ERROR_UNKNOWN_COLUMN = "unknown column {column!r} is ignored"
ERROR_TOO_MANY_FIELDS = "row has {count} fields but the header has {expected}"
ERROR_CSV_SYNTAX = "the CSV cannot be parsed: {reason}"


@dataclass(frozen=True)
class ProductRow:
    """One valid CSV row, typed and normalised."""

    line: int
    sku: str
    title: str
    price: Decimal
    currency: str
    description: str = ""
    brand: str = ""
    category_path: str = ""
    tags: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    in_stock: bool = True
    group_id: str = ""
    is_active: bool = True
    image_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RowProblem:
    """Why a line (or, with line 1, the header) could not be used as it is."""

    line: int
    message: str
    column: str = ""
    sku: str = ""
    fatal_for_row: bool = True


class CsvHeaderError(ValueError):
    """The header makes the whole file unusable (e.g. no sku column)."""


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
            yield RowProblem(line, ERROR_CSV_SYNTAX.format(reason=exc))
            return  # the reader cannot resynchronise after a quoting error
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
        return _build_row(line, values, default_currency)
    except _FieldError as exc:
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


class _FieldError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def _build_row(line: int, values: dict[str, str], default_currency: str) -> ProductRow:
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise _FieldError(column, ERROR_REQUIRED.format(column=column))
    for column, limit in MAX_LENGTHS.items():
        if len(values.get(column, "")) > limit:
            raise _FieldError(column, ERROR_TOO_LONG.format(column=column, limit=limit))
    return ProductRow(
        line=line,
        sku=values["sku"],
        title=values["title"],
        price=_price(values["price"]),
        currency=_currency(values.get("currency") or default_currency),
        description=values.get("description", ""),
        brand=values.get("brand", ""),
        category_path=normalise_category_path(values.get("category", "")),
        tags=_split_list(values.get("tags", "")),
        attributes=_attributes(values),
        in_stock=_boolean("in_stock", values.get("in_stock", ""), default=True),
        group_id=values.get("group_id", ""),
        is_active=_boolean("active", values.get("active", ""), default=True),
        image_paths=_split_list(values.get("images", "")),
    )


def _price(value: str) -> Decimal:
    if not PRICE_RE.match(value):
        raise _FieldError("price", ERROR_PRICE.format(value=value))
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise _FieldError("price", ERROR_PRICE.format(value=value))


def _currency(value: str) -> str:
    if not CURRENCY_RE.match(value.upper()):
        raise _FieldError("currency", ERROR_CURRENCY.format(value=value))
    return value.upper()


def _boolean(column: str, value: str, *, default: bool) -> bool:
    lowered = value.lower()
    if not lowered:
        return default
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise _FieldError(column, ERROR_BOOLEAN.format(column=column, value=value))


def normalise_category_path(value: str) -> str:
    """' > '-joined levels without blanks: 'Home >Kitchen > ' → 'Home > Kitchen'."""
    levels = [level.strip() for level in value.split(CATEGORY_PATH_SEPARATOR.strip())]
    return CATEGORY_PATH_SEPARATOR.join(level for level in levels if level)


def _split_list(value: str) -> list[str]:
    """Split on '|', drop blanks and repeats, keep the first-seen order."""
    return list(dict.fromkeys(item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()))


def _attributes(values: dict[str, str]) -> dict:
    attributes = {}
    raw = values.get("attributes", "")
    if raw:
        try:
            attributes = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _FieldError("attributes", ERROR_ATTRIBUTES.format(reason=exc.msg))
        if not isinstance(attributes, dict):
            raise _FieldError(
                "attributes", ERROR_ATTRIBUTES.format(reason=f"got {type(attributes).__name__}")
            )
    for column, value in values.items():
        if column.startswith(ATTRIBUTE_COLUMN_PREFIX) and value:
            attributes[column[len(ATTRIBUTE_COLUMN_PREFIX) :]] = value
    return attributes
