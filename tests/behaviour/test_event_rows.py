"""EventRows.read: the whole events table as arrays, for training and the peers rebuild."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.ml.sequence.data import KIND_CODES
from behaviour.services.ingest import events_record
from behaviour.services.sequence import dataset
from behaviour.services.sequence.dataset import EventRows
from behaviour.visitors import visitor_hash
from catalog.models import Product
from tests.catalog.factories import add_product

from .factories import event

pytestmark = pytest.mark.django_db


def test_an_empty_table_reads_as_empty_arrays():
    rows = EventRows.read()

    columns = (rows.visitors, rows.products, rows.kinds, rows.times)
    assert [len(column) for column in columns] == [0, 0, 0, 0]


def test_every_event_is_read_across_chunks_with_its_kind_code_and_whole_seconds(monkeypatch):
    monkeypatch.setattr(dataset, "READ_CHUNK", 2)  # three fetches for five events
    add_product("A", "Lantern")
    at = timezone.now().replace(microsecond=750_000) - dt.timedelta(days=1)
    kinds = ["view", "add_to_cart", "purchase", "click", "view"]
    events_record(
        items=[
            event("A", f"v{n % 2}", kind, occurred_at=(at + dt.timedelta(seconds=n)).isoformat())
            for n, kind in enumerate(kinds)
        ]
    )

    rows = EventRows.read()

    columns = (rows.times.tolist(), rows.kinds.tolist(), rows.visitors.tolist())
    read = sorted(zip(*columns, strict=True))
    assert read == [
        (int(at.timestamp()) + n, KIND_CODES[kind], visitor_hash(f"v{n % 2}"))
        for n, kind in enumerate(kinds)
    ]
    assert set(rows.products.tolist()) == {Product.objects.get(sku="A").pk}


def test_events_of_one_second_are_read_in_time_order_not_arrival_order():
    add_product("A", "Lantern"), add_product("B", "Tea lights")
    second = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0)
    # The later purchase arrives first.
    for sku, kind, offset in [("B", "purchase", 0.9), ("A", "view", 0.1)]:
        at = (second + dt.timedelta(seconds=offset)).isoformat()
        events_record(items=[event(sku, "v", kind, occurred_at=at)])

    found = dataset.training_data()
    items, _, _ = found.data.sequence(0)

    skus = [Product.objects.get(pk=found.product_ids[i]).sku for i in items]
    assert skus == ["A", "B"]  # the view at .1 s, then the purchase at .9 s
