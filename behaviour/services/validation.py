"""One event of a batch, checked field by field: a valid EventIn, or the precise reason why not.

Every reason is a constant that tests assert and partners read in the batch answer.
"""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.middleware import has_unstorable_text

from ..models import Event
from ..visitors import InvalidVisitorId, visitor_hash

MAX_EVENT_ID_CHARS = 200
MAX_ORDER_ID_CHARS = Event._meta.get_field("order_id").max_length
MAX_QUANTITY = 100_000
MAX_UNIT_PRICE = Decimal("9999999999.99")
# A partner's clock may run a little ahead of ours; further ahead is an error, not the future.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)

ERROR_NOT_OBJECT = "an event must be a JSON object"
ERROR_MISSING = "{field} is required"
ERROR_NOT_STRING = "{field} must be a string"
ERROR_TEXT = "{field} contains a NUL or an unpaired surrogate"
ERROR_EVENT_ID = f"event_id must be 1 to {MAX_EVENT_ID_CHARS} characters"
ERROR_KIND = "kind must be one of: " + ", ".join(Event.Kind.values)
ERROR_TIME_FORMAT = "occurred_at must be an ISO 8601 date-time"
ERROR_TIME_NAIVE = "occurred_at must carry a UTC offset (e.g. 2026-12-04T10:00:00+01:00)"
ERROR_TIME_FUTURE = "occurred_at is in the future"
ERROR_TIME_RETENTION = "occurred_at is older than the retention period ({days} days)"
ERROR_QUANTITY = f"quantity must be a whole number from 1 to {MAX_QUANTITY}"
ERROR_PRICE = "unit_price must be a finite number from 0 to 9999999999.99"
ERROR_PURCHASE_FIELDS = "a purchase needs order_id, quantity and unit_price"
ERROR_ORDER_ID = f"order_id is longer than {MAX_ORDER_ID_CHARS} characters"
ERROR_UNKNOWN_SKU = "unknown SKU {sku!r}: import the product first, then resend the event"
ERROR_REPEATED = "event_id repeats an earlier event of this batch"


class InvalidEvent(ValueError):
    pass


@dataclass(frozen=True)
class EventIn:
    """A checked event; `sku` is resolved to a product id later, for the whole batch at once."""

    event_id: str
    kind: str
    sku: str
    visitor: str  # the HMAC, never the raw id
    occurred_at: dt.datetime
    order_id: str
    quantity: int | None
    unit_price: Decimal | None


def event_check(raw, *, now: dt.datetime, oldest: dt.datetime, retention_days: int) -> EventIn:
    """`raw` (one decoded JSON item) as an EventIn, or InvalidEvent with the first problem."""
    if not isinstance(raw, dict):
        raise InvalidEvent(ERROR_NOT_OBJECT)
    # Stripped as the CSV import strips its cells: one id sent both ways is one event.
    event_id = _text(raw, "event_id").strip()
    if not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
        raise InvalidEvent(ERROR_EVENT_ID)
    kind = _text(raw, "kind")
    if kind not in Event.Kind.values:
        raise InvalidEvent(ERROR_KIND)
    # Stripped as the CSV import strips its cells, so a file and the API accept the same SKUs.
    sku = _text(raw, "sku").strip()
    if not sku:
        raise InvalidEvent(ERROR_MISSING.format(field="sku"))
    try:
        visitor = visitor_hash(_text(raw, "visitor_id"))
    except InvalidVisitorId as exc:
        raise InvalidEvent(str(exc)) from None
    occurred_at = _moment(_text(raw, "occurred_at"), now, oldest, retention_days)
    # Stripped as the CSV import strips its cells: one order sent both ways is one basket.
    order_id = _text(raw, "order_id", required=False).strip()
    if len(order_id) > MAX_ORDER_ID_CHARS:
        raise InvalidEvent(ERROR_ORDER_ID)
    quantity, unit_price = _quantity(raw.get("quantity")), _price(raw.get("unit_price"))
    if kind == Event.Kind.PURCHASE and not (order_id and quantity and unit_price is not None):
        raise InvalidEvent(ERROR_PURCHASE_FIELDS)
    return EventIn(event_id, kind, sku, visitor, occurred_at, order_id, quantity, unit_price)


def _text(raw: dict, field: str, *, required: bool = True) -> str:
    value = raw.get(field)
    if value is None:
        if required:
            raise InvalidEvent(ERROR_MISSING.format(field=field))
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(ERROR_NOT_STRING.format(field=field))
    if has_unstorable_text(value):
        raise InvalidEvent(ERROR_TEXT.format(field=field))
    return value


def _moment(text: str, now, oldest, retention_days: int) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(ERROR_TIME_FORMAT) from None
    if moment.tzinfo is None:
        raise InvalidEvent(ERROR_TIME_NAIVE)
    if moment > now + MAX_CLOCK_SKEW:
        raise InvalidEvent(ERROR_TIME_FUTURE)
    if moment < oldest:
        raise InvalidEvent(ERROR_TIME_RETENTION.format(days=retention_days))
    return moment.astimezone(dt.UTC)


def _quantity(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise InvalidEvent(ERROR_QUANTITY)
    return value


def _price(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidEvent(ERROR_PRICE)
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidEvent(ERROR_PRICE) from None
    if not price.is_finite() or not 0 <= price <= MAX_UNIT_PRICE:
        raise InvalidEvent(ERROR_PRICE)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent(ERROR_PRICE)
    return price.quantize(Decimal("0.01"))
