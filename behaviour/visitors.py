"""Visitor ids are personal data: they are hashed at the door and never stored or logged raw.

HMAC-SHA256 with a dedicated secret (PRODSIM_VISITOR_KEY): the same shopper always maps to the
same hash, so histories join up, while a leaked table cannot be reversed by hashing guessed ids.
Rotating the key starts every shopper's history afresh.

Ids starting with RESERVED_PREFIX belong to the storefront's signed-in customers: refused from
everyone else (events API, CSV import, visitor endpoints), so that no partner's id can land in a
customer's history, "Your data" included.
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
RESERVED_PREFIX = "storefront-customer:"
ERROR_VISITOR_RESERVED = (
    f'visitor_id starts with "{RESERVED_PREFIX}", reserved for the storefront\'s own customers'
)


class InvalidVisitorId(ValueError):
    pass


class ReservedVisitorId(str):
    """An id that may start with RESERVED_PREFIX: made only by the storefront, for its own
    customers. A type rather than a flag to visitor_hash because it travels, as the raw id,
    through the services the storefront calls (events, recommendations, export, erasure, merge);
    nothing a partner sends (decoded JSON, a CSV cell, a URL) is ever one."""


def visitor_hash(visitor_id: str) -> str:
    """The 64-hex-digit HMAC of a valid visitor id (InvalidVisitorId says why one is not).

    The id is read as the CSV import reads its cells (surrounding spaces stripped) and in
    Unicode NFC, so one shopper sent by the API, a CSV file or a URL gets one hash. An id in
    the reserved namespace is refused unless it is a ReservedVisitorId.
    """
    if not isinstance(visitor_id, str) or not visitor_id.strip():
        raise InvalidVisitorId(ERROR_VISITOR_EMPTY)
    reserved_allowed = isinstance(visitor_id, ReservedVisitorId)
    visitor_id = unicodedata.normalize("NFC", visitor_id.strip())
    if len(visitor_id) > MAX_VISITOR_ID_CHARS:
        raise InvalidVisitorId(ERROR_VISITOR_TOO_LONG)
    if any(ord(char) < 32 or ord(char) == 127 for char in visitor_id):
        raise InvalidVisitorId(ERROR_VISITOR_CONTROL)
    if "/" in visitor_id:
        raise InvalidVisitorId(ERROR_VISITOR_SLASH)
    if visitor_id.startswith(RESERVED_PREFIX) and not reserved_allowed:
        raise InvalidVisitorId(ERROR_VISITOR_RESERVED)
    key = settings.PRODSIM_VISITOR_KEY.encode()
    return hmac.new(key, visitor_id.encode(), hashlib.sha256).hexdigest()


def visitor_hashes(visitor_id: str) -> list[str]:
    """The visitor's hash (visitor_hash), then the hash the id had before ids were stripped and
    NFC-normalised, when that differs: events stored by those releases under ' alice ' or a
    decomposed 'zoé' are still this shopper's to export and erase. Nothing is hashed the old way
    any more, so only reads and deletes use the second."""
    hashed = visitor_hash(visitor_id)
    if visitor_id == unicodedata.normalize("NFC", visitor_id.strip()):
        return [hashed]
    key = settings.PRODSIM_VISITOR_KEY.encode()
    return [hashed, hmac.new(key, visitor_id.encode(), hashlib.sha256).hexdigest()]
