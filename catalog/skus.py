"""What a SKU may hold, and the one spelling every door stores and looks it up by.

A SKU names the product in the API's and the storefront's URLs and in every other door (catalogue
and event CSVs, the events API, gold photos), so each rule here keeps one product nameable by all
of them. Plain Python: the model's validator, the CSV import and the API all call `sku_problem`.
"""

import unicodedata

from django.core.exceptions import ValidationError

MAX_SKU_CHARS = 64  # Product.sku's max_length (models.py imports this module, so it cannot ask)
# Browsers, curl and every WHATWG URL parser drop these path segments (also spelled %2E), so
# /products/../ is fetched as /: such a product's pages could never be reached.
DOT_SEGMENTS = (".", "..")
# The format characters that are part of how text is written (Persian and Indic words, emoji
# sequences), unlike a zero-width space or a stray byte-order mark: allowed.
JOINERS = {"\u200c", "\u200d"}  # zero-width non-joiner, zero-width joiner

ERROR_SKU_REQUIRED = "sku is required"
ERROR_SKU_TOO_LONG = f"sku is longer than {MAX_SKU_CHARS} characters"
ERROR_SKU_SPACES = (
    "sku has spaces at either end: the CSV imports, events and gold photos strip them, "
    "so no other door could name the product"
)
ERROR_SKU_SLASH = 'sku contains "/": the product\'s URLs could not name it'
ERROR_SKU_DOTS = (
    'sku is "." or "..": browsers and HTTP clients remove such a segment from a URL, '
    "so the product's pages could never be fetched"
)
ERROR_SKU_FORMAT_CHARACTER = (
    "sku {sku} holds an invisible format or control character (Unicode category Cf or Cc, "
    "such as a zero-width space, a byte-order mark, a tab or an escape; joiners are allowed): "
    "it would look like another SKU but name another product"
)
INVISIBLE = ("Cf", "Cc")


def sku_normalised(value: str) -> str:
    """The spelling a write door stores: NFC, so an accent typed composed (most systems) or
    decomposed (macOS exports) gives one SKU, not two products that look the same."""
    return unicodedata.normalize("NFC", value)


def sku_forms(value: str) -> list[str]:
    """What a lookup door matches, in order of preference: the SKU as given (products stored
    before SKUs were normalised keep their exact spelling), then its NFC form if different."""
    normalised = sku_normalised(value)
    return [value] if normalised == value else [value, normalised]


def sku_problem(value: str) -> str | None:
    """Why `value` cannot be a product's SKU, or None; the first rule it breaks."""
    if not value:
        return ERROR_SKU_REQUIRED
    if len(value) > MAX_SKU_CHARS:
        return ERROR_SKU_TOO_LONG
    if value != value.strip():
        return ERROR_SKU_SPACES
    if "/" in value:
        return ERROR_SKU_SLASH
    if value in DOT_SEGMENTS:
        return ERROR_SKU_DOTS
    if any(unicodedata.category(char) in INVISIBLE and char not in JOINERS for char in value):
        # ascii() writes the invisible character as an escape (\u200b), so the shop can find it.
        return ERROR_SKU_FORMAT_CHARACTER.format(sku=ascii(value))
    return None


def validate_sku(value: str) -> None:
    """The model field's validator (admin forms); the CSV import and the API check the same."""
    problem = sku_problem(value)
    if problem:
        raise ValidationError(problem)
