"""A product's attributes as the product page shows them: words, not Python literals.

Imports and the API take any JSON value (catalog.attribute_values), so a value may be a list, a
flag, null or an object; each gets the reading a shopper expects.
"""

from collections.abc import Mapping


def attribute_rows(attributes: Mapping) -> list[tuple[str, str]]:
    """(label, text) pairs sorted by name: "dishwasher_safe": true → ("dishwasher safe", "Yes")."""
    return [
        (str(name).replace("_", " "), _text(value)) for name, value in sorted(attributes.items())
    ]


def _text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):  # before numbers: a bool is an int
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_text(item)}" for key, item in sorted(value.items()))
    return str(value)
