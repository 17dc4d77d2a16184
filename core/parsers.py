"""The partner API's JSON parser: refuses text that PostgreSQL cannot store."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .middleware import has_unstorable_text

ERROR_UNSTORABLE_JSON = "JSON strings must not contain NUL characters or unpaired surrogates"
ERROR_TOO_DEEP = "the JSON document is nested too deeply"


class StrictJSONParser(JSONParser):
    """JSON allows "\\u0000" and lone "\\ud800" escapes; PostgreSQL text and jsonb refuse both,
    so they are a 400 here instead of a DataError (500) at the first write or lookup."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            unstorable = _contains_unstorable(data)
        except RecursionError:  # json.loads of "[[[[…" deeper than Python's stack
            raise ParseError(ERROR_TOO_DEEP) from None
        if unstorable:
            raise ParseError(ERROR_UNSTORABLE_JSON)
        return data


def _contains_unstorable(value) -> bool:
    if isinstance(value, str):
        return has_unstorable_text(value)
    if isinstance(value, dict):
        return any(_contains_unstorable(k) or _contains_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable(item) for item in value)
    return False
