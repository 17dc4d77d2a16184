"""The import's quick checks are the API's checks: for every event dict they accept exactly what
validation.event_check accepts, with the same stored values, and a rejected line gets
event_check's own reason."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.services.imports.checks import EventChecks, copy_row, copy_text
from behaviour.services.validation import InvalidEvent, event_check

NOW = timezone.now()
AT = (NOW - dt.timedelta(days=3)).isoformat()
BASE = {
    "event_id": "e-1",
    "kind": "purchase",
    "sku": "A",
    "visitor_id": "v1",
    "occurred_at": AT,
    "order_id": "o1",
    "quantity": 2,
    "unit_price": "9.90",
}
VIEW = {"kind": "view", "order_id": None, "quantity": None, "unit_price": None}
CASES = {
    "purchase": {},
    "view": VIEW,
    "click": {**VIEW, "kind": "click"},
    "add to cart with a price": {**VIEW, "kind": "add_to_cart", "unit_price": "3"},
    "view with an order": {"kind": "view"},
    "derived id": {"event_id": None},
    "derived id of a view": {**VIEW, "event_id": None},
    "id of 200 characters": {"event_id": "x" * 200},
    "id of 201 characters": {"event_id": "x" * 201},
    "id with a tab and a backslash": {"event_id": "a\tb\\c"},
    "order id with a carriage return": {"order_id": "o\r1"},
    "unknown kind": {"kind": "like"},
    "kind in capitals": {"kind": "VIEW"},
    "no sku": {"sku": None},
    "no visitor": {"visitor_id": None},
    "blank visitor": {"visitor_id": "   "},
    "visitor of 201 characters": {"visitor_id": "v" * 201},
    "visitor with a control character": {"visitor_id": "a\x1fb"},
    "visitor in the storefront's reserved namespace": {"visitor_id": " storefront-customer:1"},
    "no time": {"occurred_at": None},
    "naive time": {"occurred_at": "2026-06-01T10:00:00"},
    "time not ISO": {"occurred_at": "01/06/2026 10:00"},
    "time with Z": {"occurred_at": (NOW - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    "time in another zone": {
        "occurred_at": (NOW - dt.timedelta(days=2)).isoformat()[:19] + "-05:00"
    },
    "time with microseconds": {"occurred_at": (NOW - dt.timedelta(hours=1)).isoformat()},
    "4 minutes ahead": {"occurred_at": (NOW + dt.timedelta(minutes=4)).isoformat()},
    "6 minutes ahead": {"occurred_at": (NOW + dt.timedelta(minutes=6)).isoformat()},
    "399 days old": {"occurred_at": (NOW - dt.timedelta(days=399)).isoformat()},
    "401 days old": {"occurred_at": (NOW - dt.timedelta(days=401)).isoformat()},
    "quantity 1": {"quantity": 1},
    "quantity 100000": {"quantity": 100_000},
    "quantity 100001": {"quantity": 100_001},
    "quantity as text": {"quantity": "1.5"},
    "no quantity": {"quantity": None},
    "price 0": {"unit_price": "0"},
    "price with 3 decimals": {"unit_price": "2.555"},
    "price in exponent form": {"unit_price": "1e3"},
    "price with underscores": {"unit_price": "1_000"},
    "highest price": {"unit_price": "9999999999.99"},
    "price too high": {"unit_price": "10000000000"},
    "negative price": {"unit_price": "-1"},
    "price NaN": {"unit_price": "NaN"},
    "price infinite": {"unit_price": "Infinity"},
    "price not a number": {"unit_price": "12,50"},
    "no price": {"unit_price": None},
    "no order": {"order_id": None},
}


def api_outcome(raw: dict):
    """What event_check says: the COPY row of the event it accepts (no id when derived), or why
    it rejects it."""
    try:
        event = event_check(
            {**raw, "event_id": raw["event_id"] or "-"},
            now=NOW,
            oldest=NOW - dt.timedelta(days=400),
            retention_days=400,
        )
    except InvalidEvent as exc:
        return str(exc)
    row = copy_row(event)
    return row[1:] if raw["event_id"] is None else row


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_the_quick_checks_accept_exactly_what_event_check_accepts(overrides):
    raw = {**BASE, **overrides}
    checks = EventChecks(retention_days=400)
    checks.start(NOW)

    quick = checks._quick(raw)

    expected = api_outcome(raw)
    if isinstance(expected, str):
        assert quick is None
        with pytest.raises(InvalidEvent) as rejected:
            checks.row(raw)
        assert str(rejected.value) == expected
    else:
        assert (quick[1:] if raw["event_id"] is None else quick) == expected
        assert checks.row(raw)[1:] == expected[-7:]


def test_the_derived_id_is_the_same_on_both_paths_and_counts_repeats():
    raw = {**BASE, "event_id": None}
    quick, slow = EventChecks(retention_days=400), EventChecks(retention_days=400)
    quick.start(NOW)
    slow.start(NOW)
    # The same event, but through event_check: a time with an offset only it parses the same way.
    slow_raw = {**raw, "occurred_at": dt.datetime.fromisoformat(AT).astimezone(dt.UTC).isoformat()}

    first, again = quick.row(raw)[0], quick.row(raw)[0]
    event = event_check(
        {**slow_raw, "event_id": "-"},
        now=NOW,
        oldest=NOW - dt.timedelta(days=400),
        retention_days=400,
    )
    row = copy_row(event)
    slow_id = slow._derived_id(event.order_id, event.sku, row[1], row[3], row[2])

    assert first == slow_id
    assert again != first
    assert (first[:4], len(first), again[:4], len(again)) == ("csv-", 36, "csv-", 36)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "plain"), ("a\tb", "a\\tb"), ("a\\b", "a\\\\b"), ("a\r\nb", "a\\r\\nb")],
)
def test_copy_text_escapes_what_copy_reads_specially(value, expected):
    assert copy_text(value) == expected
