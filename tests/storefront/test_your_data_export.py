"""Your data's download: the events in the API export's format, and the A/B log of the session
(what its widgets showed and what it clicked)."""

import json

import pytest
from django.test import Client

from behaviour.models import Event
from experiments.models import Impression
from experiments.sessions import session_hash_if_any
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    add_product("MUG-1", "Red mug", price="9.90")
    add_product("LMP-1", "Desk lamp", price="45.00")


def test_the_download_writes_times_and_prices_as_the_api_export_does(shop):
    client = Client()
    client.get("/products/MUG-1/")
    client.post("/basket/add/MUG-1/", {"quantity": "2"})
    stored = Event.objects.order_by("occurred_at")

    events = json.loads(client.get("/your-data/export/").content)["events"]

    # Microseconds and "+00:00", as datetime.isoformat (the API), not JSON's ms and "Z".
    assert [e["occurred_at"] for e in events] == [e.occurred_at.isoformat() for e in stored]
    assert [e["unit_price"] for e in events] == [None, "9.90"]


def test_the_download_holds_the_sessions_impressions_and_clicks(shop):
    client, other = Client(), Client()
    client.get("/products/MUG-1/")
    strip = client.get("/products/LMP-1/").context["recently_viewed"]  # shows the mug
    client.get(strip[0].click_url)
    other.get("/products/LMP-1/")
    mine = Impression.objects.filter(session_hash=session_hash_if_any(session=client.session))

    exported = json.loads(client.get("/your-data/export/").content)

    impressions = exported["impressions"]
    assert len(impressions) == mine.count() > 0  # the other session's are not in it
    history = mine.get(widget=Impression.Widget.RECENTLY_VIEWED)
    assert {
        "widget": "recently_viewed",
        "source_sku": "LMP-1",
        "shown_sku": "MUG-1",
        "position": 1,
        "shown_at": history.created_at.isoformat(),
    } in impressions
    assert [(c["widget"], c["shown_sku"]) for c in exported["clicks"]] == [
        ("recently_viewed", "MUG-1")
    ]
    assert exported["clicks"][0]["clicked_at"].endswith("+00:00")
