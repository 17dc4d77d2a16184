"""Your data's download: the events in the API export's format, and the shopper's A/B log
(what their widgets showed and what they clicked: a customer's on every device)."""

import json

import pytest
from django.contrib.auth.models import User
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


def test_a_click_on_a_link_passed_on_is_in_the_clickers_download_not_the_senders(shop):
    """Alice sends Bob a link from her recently viewed strip (her own browsing); Bob, who has
    browsed on his own, opens it."""
    alice, bob = Client(), Client()
    alice.get("/products/MUG-1/")
    link = alice.get("/products/LMP-1/").context["recently_viewed"][0].click_url
    bob.get("/products/LMP-1/")
    bob.get(link)

    bobs = json.loads(bob.get("/your-data/export/").content)["clicks"]
    alices = json.loads(alice.get("/your-data/export/").content)["clicks"]

    assert [click["shown_sku"] for click in bobs] == ["MUG-1"]
    assert alices == []


def test_a_customers_download_holds_the_ab_log_of_every_device_their_erasure_deletes(shop):
    """The erasure of a signed-in customer deletes what every session of theirs logged; the
    download (the right of access) holds the same."""
    User.objects.create_user(username="ada", password="a long enough password")
    laptop, phone = Client(), Client()
    for device in (laptop, phone):
        device.post(
            "/account/sign-in/",
            {"username": "ada", "password": "a long enough password", "next": "/"},
        )
    phone.get("/products/MUG-1/")
    phone.get("/products/LMP-1/")
    on_phone = Impression.objects.filter(session_hash=session_hash_if_any(session=phone.session))
    assert on_phone.count() > 0

    exported = json.loads(laptop.get("/your-data/export/").content)

    assert len(exported["impressions"]) == on_phone.count()
    assert {i["source_sku"] for i in exported["impressions"]} == {"MUG-1", "LMP-1"}


def test_the_download_holds_a_click_on_the_customers_link_made_after_signing_out(shop):
    """A tab left open after signing out: its click counts under no one, against the customer's
    impression. The customer's erasure deletes it with the impression; so the download holds it."""
    User.objects.create_user(username="ada", password="a long enough password")
    browser = Client()
    sign_in = {"username": "ada", "password": "a long enough password", "next": "/"}
    browser.post("/account/sign-in/", sign_in)
    browser.get("/products/MUG-1/")
    browser.get("/products/LMP-1/")  # a strip with a link: recently viewed
    link = browser.get("/products/LMP-1/").context["recently_viewed"][0].click_url
    browser.post("/account/sign-out/")
    browser.get(link)
    browser.post("/account/sign-in/", sign_in)

    exported = json.loads(browser.get("/your-data/export/").content)

    assert [click["shown_sku"] for click in exported["clicks"]] == ["MUG-1"]


def test_the_download_holds_the_order_just_placed_that_the_session_keeps(shop):
    """The session keeps the placed order for its page (and an erasure forgets it): it is the
    shopper's data, so the download shows it."""
    client = Client()
    assert json.loads(client.get("/your-data/export/").content)["last_order"] is None
    client.post("/basket/add/MUG-1/", {"quantity": "2"})
    client.post("/checkout/")

    order = json.loads(client.get("/your-data/export/").content)["last_order"]

    assert order["order_id"] == client.session["last_order"]["order_id"]
    assert order["lines"] == [
        {"sku": "MUG-1", "title": "Red mug", "quantity": 2, "total": "19.80", "currency": "EUR"}
    ]
