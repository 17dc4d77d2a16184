"""What a product's `attributes` may hold, wherever it is written: a JSON object (every reader
takes it as name -> value: the ranking, the text index, the product page) whose text PostgreSQL
can store. The model field's validator (the admin's form) and the API and CSV import checks."""

from django.core.exceptions import ValidationError

from core.middleware import has_unstorable_text

ERROR_ATTRIBUTES_OBJECT = 'attributes must be a JSON object: {"name": "value", ...}'
ERROR_ATTRIBUTES_TEXT = "attributes is not storable: it holds a NUL or an unpaired surrogate"


def validate_attributes(value) -> None:
    """The model field's validator: an object, with text PostgreSQL can store."""
    if not isinstance(value, dict):
        raise ValidationError(ERROR_ATTRIBUTES_OBJECT)
    if any(has_unstorable_text(text) for text in json_strings(value)):
        raise ValidationError(ERROR_ATTRIBUTES_TEXT)


def json_strings(decoded):
    """Every key and string value of decoded JSON (a stack, not recursion: nesting is deep)."""
    stack = [decoded]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from value.keys()
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
