"""The events as arrays for the counting: read in chunks (a full rebuild reads every retained
event), the same arrays whatever the chunk size and whatever order the rows come in."""

import numpy as np
import pytest
from django.db import connection

from behaviour.services import event_arrays as module
from behaviour.services.event_arrays import EVENTS_SQL, arrays_of, event_arrays
from behaviour.services.ingest import events_record
from behaviour.services.retention import events_cutoff

from .factories import event, order, shop

pytestmark = pytest.mark.django_db
ORDERED = EVENTS_SQL + " ORDER BY e.event_id"  # both reads see the rows in one order


def fields(arrays) -> dict:
    return {
        name: getattr(arrays, name).tolist()
        for name in ("product_ids", "products", "times", "kinds", "orders", "visitors")
    }


@pytest.fixture
def events():
    shop()
    events_record(
        items=[
            *order(["A", "B"], "zoe", "o-2", days_ago=3),
            *order(["C"], "ann", "o-1", days_ago=2),
            event("D", "mia", days_ago=1),
            event("A", "ann", "add_to_cart", days_ago=0.5),
            event("E", "bob", days_ago=0.2),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(ORDERED, {"cutoff": events_cutoff()})
        return cursor.fetchall()


def test_read_in_chunks_the_arrays_are_those_of_one_read(events, monkeypatch):
    monkeypatch.setattr(module, "READ_CHUNK", 2)

    assert fields(event_arrays(ORDERED)) == fields(arrays_of(events))


def test_codes_follow_the_values_not_the_order_the_rows_came_in(events):
    forward, backward = arrays_of(events), arrays_of(events[::-1])

    visitors = np.array([row[2] for row in events])
    assert forward.visitors.tolist() == np.unique(visitors, return_inverse=True)[1].tolist()
    assert forward.visitors.tolist() == backward.visitors[::-1].tolist()
    assert forward.orders.tolist() == backward.orders[::-1].tolist()
    without_order = [row[1] == "" for row in events]
    assert (forward.orders == -1).tolist() == without_order
    assert sorted(set(forward.orders.tolist()) - {-1}) == [1, 2]  # o-1 < o-2, after ""
    assert {type(kind) for kind in forward.kinds} == {str}
