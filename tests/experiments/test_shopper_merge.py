"""Signing in: what the session logged as the anonymous visitor becomes the customer's, as its
events do, each row keeping its experiment and arm; nothing else moves."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from behaviour.services.erasure_guard import tombstone_record
from behaviour.visitors import visitor_hash
from experiments.models import Click, Impression
from experiments.sessions import session_hash_if_any, shopper_for, shopper_merge
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def shown(session_hash: str, sku: str, at: dt.datetime, arm: str = "") -> Impression:
    return Impression.objects.create(
        widget=Impression.Widget.SIMILAR,
        shown_product=product(sku=sku),
        position=1,
        arm=arm,
        session_hash=session_hash,
        created_at=at,
    )


def test_the_sessions_impressions_and_clicks_move_to_the_customer_with_their_arms():
    session, now = SessionStore(), timezone.now()
    anonymous = shopper_for(session=session, visitor_id="anon", read_at=now).hash
    mine = shown(anonymous, "A", now + dt.timedelta(seconds=1), arm="candidate")
    theirs = shown(visitor_hash("them"), "B", now - dt.timedelta(days=1))
    Click.objects.create(impression=mine, session_hash=anonymous)
    Click.objects.create(impression=theirs, session_hash=anonymous)  # a link sent to them

    moved = shopper_merge(session=session, from_visitor_id="anon", into_visitor_id="customer")

    customer = visitor_hash("customer")
    assert moved == 1 and session_hash_if_any(session=session) == customer
    assert list(Impression.objects.order_by("pk").values_list("session_hash", "arm")) == [
        (customer, "candidate"),
        (visitor_hash("them"), ""),
    ]
    assert set(Click.objects.values_list("session_hash", flat=True)) == {customer}


def test_a_session_that_logged_nothing_as_that_visitor_moves_nothing():
    session, now = SessionStore(), timezone.now()
    shown(visitor_hash("anon"), "A", now)  # another session's (the visitor id is per session)

    assert shopper_merge(session=session, from_visitor_id="anon", into_visitor_id="c") == 0
    assert Impression.objects.get().session_hash == visitor_hash("anon")


def test_of_an_erased_visitor_nothing_from_before_the_erasure_moves():
    session, now = SessionStore(), timezone.now()
    anonymous = shopper_for(session=session, visitor_id="anon", read_at=now).hash
    before = shown(anonymous, "A", now)
    tombstone_record(anonymous)
    after = shown(anonymous, "B", timezone.now() + dt.timedelta(seconds=1))

    assert shopper_merge(session=session, from_visitor_id="anon", into_visitor_id="c") == 1

    before.refresh_from_db(), after.refresh_from_db()
    assert (before.session_hash, after.session_hash) == (anonymous, visitor_hash("c"))
