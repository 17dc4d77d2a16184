"""Visitor ids are personal data: they are hashed at the door and never stored or logged raw.

HMAC-SHA256 with a dedicated secret (PRODSIM_VISITOR_KEY): the same shopper always maps to the
same hash, so histories join up, while a leaked table cannot be reversed by hashing guessed ids.
Rotating the key starts every shopper's history afresh.
"""

import hashlib
import hmac
import unicodedata

from django.conf import settings

MAX_VISITOR_ID_CHARS = 200
ERROR_VISITOR_EMPTY = "visitor_id is empty"
ERROR_VISITOR_TOO_LONG = f"visitor_id is longer than {MAX_VISITOR_ID_CHARS} characters"
ERROR_VISITOR_CONTROL = "visitor_id contains a NUL or another control character"
ERROR_VISITOR_SLASH = 'visitor_id contains "/": the erasure and export URLs could not name it'


class InvalidVisitorId(ValueError):
    pass


def visitor_hash(visitor_id: str) -> str:
    """The 64-hex-digit HMAC of a valid visitor id (InvalidVisitorId says why one is not).

    The id is read as the CSV import reads its cells (surrounding spaces stripped) and in
    Unicode NFC, so one shopper sent by the API, a CSV file or a URL gets one hash.
    """
    if not isinstance(visitor_id, str) or not visitor_id.strip():
        raise InvalidVisitorId(ERROR_VISITOR_EMPTY)
    visitor_id = unicodedata.normalize("NFC", visitor_id.strip())
    if len(visitor_id) > MAX_VISITOR_ID_CHARS:
        raise InvalidVisitorId(ERROR_VISITOR_TOO_LONG)
    if any(ord(char) < 32 or ord(char) == 127 for char in visitor_id):
        raise InvalidVisitorId(ERROR_VISITOR_CONTROL)
    if "/" in visitor_id:
        raise InvalidVisitorId(ERROR_VISITOR_SLASH)
    key = settings.PRODSIM_VISITOR_KEY.encode()
    return hmac.new(key, visitor_id.encode(), hashlib.sha256).hexdigest()
