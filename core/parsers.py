"""The partner API's JSON parser: refuses text and numbers that PostgreSQL cannot store."""

import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .middleware import has_unstorable_text

ERROR_UNSTORABLE_JSON = "JSON strings must not contain NUL characters or unpaired surrogates"
ERROR_TOO_DEEP = "the JSON document is nested too deeply"
ERROR_NOT_FINITE = "numbers must be finite: NaN, Infinity and 1e400 (too large) cannot be stored"


class StrictJSONParser(JSONParser):
    """JSON allows "\\u0000" and lone "\\ud800" escapes; PostgreSQL text and jsonb refuse both,
    so they are a 400 here instead of a DataError (500) at the first write or lookup. Likewise
    a number past a double's range (1e400 reads as infinity, which jsonb refuses)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            unstorable = _contains_unstorable(data)
            infinite = contains_infinite(data)
        except RecursionError:  # json.loads of "[[[[…" deeper than Python's stack
            raise ParseError(ERROR_TOO_DEEP) from None
        if unstorable:
            raise ParseError(ERROR_UNSTORABLE_JSON)
        if infinite:
            raise ParseError(ERROR_NOT_FINITE)
        return data


def _contains_unstorable(value) -> bool:
    if isinstance(value, str):
        return has_unstorable_text(value)
    if isinstance(value, dict):
        return any(_contains_unstorable(k) or _contains_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable(item) for item in value)
    return False


def contains_infinite(value) -> bool:
    """Whether decoded JSON holds a number jsonb cannot store (infinity, NaN)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(contains_infinite(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_infinite(item) for item in value)
    return False
