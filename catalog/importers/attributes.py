"""A row's `attributes` JSON, refused with the reason where PostgreSQL's jsonb could not hold
it (NaN, infinities, NUL, lone surrogates) or the parser could not read it (deep nesting, an
integer of thousands of digits), so a bad value costs its row, not the import."""

import json

from core.middleware import has_unstorable_text

from ..attribute_values import ERROR_ATTRIBUTES_TEXT, json_strings
from .errors import FieldError

ERROR_ATTRIBUTES = "attributes is not a JSON object: {reason}"
ERROR_ATTRIBUTES_NUMBER = "attributes is not storable: {value} is not a finite number"
ERROR_ATTRIBUTES_DEPTH = "attributes is nested too deeply"


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise FieldError("attributes", ERROR_ATTRIBUTES_NUMBER.format(value=text))
    return value


def _not_a_number(text: str):
    raise FieldError("attributes", ERROR_ATTRIBUTES_NUMBER.format(value=text))


def json_object(raw: str):
    """The decoded JSON, refusing what PostgreSQL's jsonb cannot hold (NaN, infinities, NUL,
    lone surrogates) and nesting deep enough to exhaust the parser."""
    try:
        decoded = json.loads(raw, parse_float=_finite, parse_constant=_not_a_number)
    except json.JSONDecodeError as exc:
        raise FieldError("attributes", ERROR_ATTRIBUTES.format(reason=exc.msg))
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise FieldError("attributes", ERROR_ATTRIBUTES.format(reason=exc))
    except RecursionError:
        raise FieldError("attributes", ERROR_ATTRIBUTES_DEPTH) from None
    if any(has_unstorable_text(text) for text in json_strings(decoded)):
        raise FieldError("attributes", ERROR_ATTRIBUTES_TEXT)
    return decoded
