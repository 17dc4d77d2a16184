"""Parse and validate a catalogue CSV (docs/CATALOGUE_FORMAT.md) into typed rows.

No database access here: the import service decides what to write. Every problem becomes a
`RowProblem` with its line number and column, and parsing continues with the next row.
"""

from .attributes import ERROR_ATTRIBUTES, ERROR_ATTRIBUTES_TEXT, json_strings
from .fields import (
    ATTRIBUTE_COLUMN_PREFIX,
    CURRENCY_RE,
    ERROR_BOOLEAN,
    ERROR_CATEGORY_LEVEL,
    ERROR_CURRENCY,
    ERROR_PRICE,
    ERROR_REQUIRED,
    ERROR_TOO_LONG,
    FALSE_VALUES,
    LIST_SEPARATOR,
    MAX_LENGTHS,
    PRICE_RE,
    REQUIRED_COLUMNS,
    TRUE_VALUES,
    category_levels_fit,
    normalise_category_path,
)
from .reader import (
    ERROR_CSV_SYNTAX,
    ERROR_DUPLICATE_SKU,
    ERROR_INVALID_UTF8,
    ERROR_MISSING_COLUMNS,
    ERROR_NUL,
    ERROR_TOO_MANY_FIELDS,
    ERROR_UNKNOWN_COLUMN,
    KNOWN_COLUMNS,
    MAX_FIELD_CHARS,
    parse_catalogue_csv,
)
from .records import CsvHeaderError, ProductRow, RowProblem

__all__ = [
    "ATTRIBUTE_COLUMN_PREFIX",
    "CURRENCY_RE",
    "ERROR_ATTRIBUTES",
    "ERROR_ATTRIBUTES_TEXT",
    "ERROR_BOOLEAN",
    "ERROR_CATEGORY_LEVEL",
    "ERROR_CSV_SYNTAX",
    "ERROR_CURRENCY",
    "ERROR_DUPLICATE_SKU",
    "ERROR_INVALID_UTF8",
    "ERROR_MISSING_COLUMNS",
    "ERROR_NUL",
    "ERROR_PRICE",
    "ERROR_REQUIRED",
    "ERROR_TOO_LONG",
    "ERROR_TOO_MANY_FIELDS",
    "ERROR_UNKNOWN_COLUMN",
    "FALSE_VALUES",
    "KNOWN_COLUMNS",
    "LIST_SEPARATOR",
    "MAX_FIELD_CHARS",
    "MAX_LENGTHS",
    "PRICE_RE",
    "REQUIRED_COLUMNS",
    "TRUE_VALUES",
    "CsvHeaderError",
    "ProductRow",
    "RowProblem",
    "category_levels_fit",
    "json_strings",
    "normalise_category_path",
    "parse_catalogue_csv",
]
