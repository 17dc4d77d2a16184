"""Validating one CSV row's values and turning them into a typed ProductRow."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from ..models import CATEGORY_PATH_SEPARATOR, Category, Product
from ..skus import sku_normalised, sku_problem
from .attributes import ERROR_ATTRIBUTES, json_object
from .errors import FieldError
from .records import ProductRow

REQUIRED_COLUMNS = ("sku", "title", "price")
ATTRIBUTE_COLUMN_PREFIX = "attr:"
LIST_SEPARATOR = "|"
# As written; sku and category are checked once normalised (sku_problem, category_path_problem):
# a decomposed accent or "a>b" is longer as written than as stored.
MAX_LENGTHS = {"title": 300, "brand": 200, "group_id": 64}
TRUE_VALUES = {"true", "1", "yes", "y"}
FALSE_VALUES = {"false", "0", "no", "n"}
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
PRICE_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
MAX_CATEGORY_LEVEL = Category._meta.get_field("name").max_length
MAX_CATEGORY_PATH = Category._meta.get_field("path").max_length
MAX_TAG = Product._meta.get_field("tags").base_field.max_length

ERROR_REQUIRED = "{column} is required"
ERROR_TOO_LONG = "{column} is longer than {limit} characters"
ERROR_PRICE = "price {value!r} is not a non-negative amount with at most 2 decimals"
ERROR_CURRENCY = "currency {value!r} is not a three-letter ISO 4217 code"
ERROR_BOOLEAN = "{column} {value!r} is not one of true/false, yes/no, 1/0"
ERROR_CATEGORY_LEVEL = f"category has a level longer than {MAX_CATEGORY_LEVEL} characters"
ERROR_CATEGORY_PATH = (
    f"category is longer than {MAX_CATEGORY_PATH} characters once its levels are joined "
    f"with {CATEGORY_PATH_SEPARATOR!r}"
)
ERROR_TAG = f"tags has a tag longer than {MAX_TAG} characters"


def build_row(line: int, values: dict[str, str], default_currency: str) -> ProductRow:
    """The typed row of one line's stripped values by column; FieldError for the first bad one."""
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise FieldError(column, ERROR_REQUIRED.format(column=column))
    for column, limit in MAX_LENGTHS.items():
        if len(values.get(column, "")) > limit:
            raise FieldError(column, ERROR_TOO_LONG.format(column=column, limit=limit))
    sku = sku_normalised(values["sku"])
    if problem := sku_problem(sku):
        raise FieldError("sku", problem)
    category_path = normalise_category_path(values.get("category", ""))
    if problem := category_path_problem(category_path):
        raise FieldError("category", problem)
    tags = split_list(values.get("tags", ""))
    if any(len(tag) > MAX_TAG for tag in tags):
        raise FieldError("tags", ERROR_TAG)
    return ProductRow(
        line=line,
        sku=sku,
        sku_as_written=values["sku"] if values["sku"] != sku else "",
        title=values["title"],
        price=_price(values["price"]),
        currency=_currency(values.get("currency") or default_currency),
        description=values.get("description", ""),
        brand=values.get("brand", ""),
        category_path=category_path,
        tags=tags,
        attributes=_attributes(values),
        in_stock=_boolean("in_stock", values.get("in_stock", ""), default=True),
        group_id=values.get("group_id", ""),
        is_active=_boolean("active", values.get("active", ""), default=True),
        image_paths=split_list(values.get("images", "")),
    )


def _price(value: str) -> Decimal:
    if not PRICE_RE.match(value):
        raise FieldError("price", ERROR_PRICE.format(value=value))
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise FieldError("price", ERROR_PRICE.format(value=value))


def currency_code(value: str) -> str | None:
    """The ISO 4217 code `value` spells (any case), or None. ASCII first: "ß".upper() is "SS",
    so "ßA" would pass as "SSA"."""
    code = value.upper()
    return code if value.isascii() and CURRENCY_RE.match(code) else None


def _currency(value: str) -> str:
    if (code := currency_code(value)) is None:
        raise FieldError("currency", ERROR_CURRENCY.format(value=value))
    return code


def _boolean(column: str, value: str, *, default: bool) -> bool:
    lowered = value.lower()
    if not lowered:
        return default
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise FieldError(column, ERROR_BOOLEAN.format(column=column, value=value))


def category_path_problem(path: str) -> str | None:
    """Why a normalised category path cannot be stored, or None. Checked after normalising:
    'a>b' is 3 characters as written and 5 once stored as 'a > b'."""
    if len(path) > MAX_CATEGORY_PATH:
        return ERROR_CATEGORY_PATH
    if not category_levels_fit(path):
        return ERROR_CATEGORY_LEVEL
    return None


def category_levels_fit(path: str) -> bool:
    """Whether every level of a normalised category path fits a Category's name."""
    return all(len(level) <= MAX_CATEGORY_LEVEL for level in path.split(CATEGORY_PATH_SEPARATOR))


def normalise_category_path(value: str) -> str:
    """' > '-joined levels without blanks: 'Home >Kitchen > ' → 'Home > Kitchen'; in NFC, so
    'Café' typed with a composed or a decomposed accent is one category, as SKUs are one."""
    value = unicodedata.normalize("NFC", value)
    levels = [level.strip() for level in value.split(CATEGORY_PATH_SEPARATOR.strip())]
    return CATEGORY_PATH_SEPARATOR.join(level for level in levels if level)


def split_list(value: str) -> list[str]:
    """Split on '|', drop blanks and repeats, keep the first-seen order."""
    return list(dict.fromkeys(item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()))


def _attributes(values: dict[str, str]) -> dict:
    attributes = {}
    raw = values.get("attributes", "")
    if raw:
        attributes = json_object(raw)
        if not isinstance(attributes, dict):
            raise FieldError(
                "attributes", ERROR_ATTRIBUTES.format(reason=f"got {type(attributes).__name__}")
            )
    for column, value in values.items():
        if column.startswith(ATTRIBUTE_COLUMN_PREFIX) and value:
            attributes[column[len(ATTRIBUTE_COLUMN_PREFIX) :]] = value
    return attributes
