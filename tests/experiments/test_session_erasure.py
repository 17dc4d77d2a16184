"""A shopper's erasure of the A/B log: the visitor's impressions and clicks go (they leave the
experiments' counts), nobody else's, by whatever door the erasure came (experiments subscribes
to behaviour's erasures); a session forgets the hash it logged under and what it
logged before the experiments knew shoppers as visitors, whatever SECRET_KEY has become."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django.utils.crypto import salted_hmac

from behaviour.services.visitors import visitor_erase
from behaviour.visitors import visitor_hash
from experiments.models import Click, Impression
from experiments.selectors import shopper_log
from experiments.sessions import (
    LEGACY_ID_KEY,
    SHOPPER_KEY,
    session_forget,
    session_hash_if_any,
    shopper_for,
)
from experiments.sessions import (
    shopper_log as session_shopper_log,
)
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def shown(session_hash: str, sku: str, clicked_by: list[str]) -> Impression:
    impression = Impression.objects.create(
        widget=Impression.Widget.RECENTLY_VIEWED,
        source_product=product(sku=f"SRC-{sku}"),
        shown_product=product(sku=sku),
        position=1,
        session_hash=session_hash,
    )
    Click.objects.bulk_create(Click(impression=impression, session_hash=h) for h in clicked_by)
    return impression


def test_a_visitors_erasure_deletes_their_impressions_and_clicks_only():
    mine, theirs = visitor_hash("me"), visitor_hash("them")
    shown(mine, "A", clicked_by=[mine, ""])  # its link, opened once in a fresh browser too
    kept = shown(theirs, "B", clicked_by=[theirs, mine, ""])
    assert [i["shown_sku"] for i in shopper_log(shopper_hashes=[mine])["impressions"]] == ["A"]
    # Theirs, the fresh browser's on their impression, and theirs on someone else's: what the
    # erasure deletes.
    clicks = shopper_log(shopper_hashes=[mine])["clicks"]
    assert [c["shown_sku"] for c in clicks] == ["A", "A", "B"]

    visitor_erase(visitor_id="me")  # what the partner API, Your data and an account deletion do

    assert list(Impression.objects.all()) == [kept]
    assert sorted(Click.objects.values_list("session_hash", flat=True)) == ["", theirs]
    assert shopper_log(shopper_hashes=[mine]) == {"impressions": [], "clicks": []}


def test_another_shoppers_click_on_a_visitors_impression_stays_theirs_only():
    """A link passed on: the click is the clicker's, in their export, not in the visitor's. A
    click cannot outlive its impression, so the visitor's erasure keeps that impression, naming
    nobody."""
    mine, theirs = visitor_hash("me"), visitor_hash("them")
    passed_on = shown(mine, "A", clicked_by=[theirs])
    assert shopper_log(shopper_hashes=[mine])["clicks"] == []

    visitor_erase(visitor_id="me")

    passed_on.refresh_from_db()
    assert passed_on.session_hash == ""
    assert [c["shown_sku"] for c in shopper_log(shopper_hashes=[theirs])["clicks"]] == ["A"]
    assert shopper_log(shopper_hashes=[mine]) == {"impressions": [], "clicks": []}


def test_the_partner_apis_export_holds_the_ab_log_its_erasure_deletes(partner_client):
    mine = visitor_hash("me")
    impression = shown(mine, "A", clicked_by=[mine])
    shown(visitor_hash("them"), "B", clicked_by=[mine])

    body = partner_client.get("/api/v1/visitors/me/export/").json()

    assert body["events"] == []
    assert body["impressions"] == [
        {
            "widget": "recently_viewed",
            "source_sku": "SRC-A",
            "shown_sku": "A",
            "position": 1,
            "shown_at": impression.created_at.isoformat(),
        }
    ]
    assert [(c["source_sku"], c["shown_sku"]) for c in body["clicks"]] == [
        ("SRC-A", "A"),
        ("SRC-B", "B"),
    ]
    partner_client.delete("/api/v1/visitors/me/")
    after = partner_client.get("/api/v1/visitors/me/export/").json()
    assert after == {"events": [], "impressions": [], "clicks": []}


def test_a_session_remembers_the_visitor_hash_for_its_clicks_until_it_forgets():
    session = SessionStore()
    assert session_hash_if_any(session=session) == ""

    shopper = shopper_for(session=session, visitor_id="me", read_at=timezone.now())

    assert shopper.hash == visitor_hash("me") == session_hash_if_any(session=session)
    assert session_forget(session=session) == 0
    assert SHOPPER_KEY not in session and session_hash_if_any(session=session) == ""


def test_a_session_forgets_what_it_logged_before_the_upgrade_even_after_a_key_rotation(settings):
    """Rows logged before the experiments knew shoppers as visitors carry the session's own
    random id, hashed with the SECRET_KEY of the time; Django's rotation moves that key to
    SECRET_KEY_FALLBACKS."""
    session = SessionStore()
    session[LEGACY_ID_KEY] = "0123456789abcdef"
    old_hash = salted_hmac(
        "prodsim.experiments.session", "0123456789abcdef", algorithm="sha256"
    ).hexdigest()
    shown(old_hash, "A", clicked_by=[old_hash])
    kept = shown(visitor_hash("them"), "B", clicked_by=[])
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + "k" * 60

    exported = session_shopper_log(session=session, visitor_id=None)
    assert [i["shown_sku"] for i in exported["impressions"]] == ["A"]
    assert session_forget(session=session) == 1

    assert LEGACY_ID_KEY not in session
    assert list(Impression.objects.all()) == [kept] and Click.objects.count() == 0


def test_nobody_in_particular_erases_nothing():
    shown("", "A", clicked_by=["", ""])  # "": clicks of sessions that had logged nothing

    assert session_forget(session=SessionStore()) == 0

    assert Impression.objects.count() == 1 and Click.objects.count() == 2
    assert shopper_log(shopper_hashes=[""]) == {"impressions": [], "clicks": []}
