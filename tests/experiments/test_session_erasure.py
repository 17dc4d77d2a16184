"""A shopper's erasure of the A/B log: their session's impressions and clicks go (they leave the
experiments' counts), nobody else's, and a session without an experiments id erases nothing."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from experiments.models import Click, Impression
from experiments.selectors import session_log
from experiments.sessions import EXPERIMENT_ID_KEY, session_forget, session_hash
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


def test_forgetting_a_session_deletes_its_impressions_and_clicks_only():
    session, other = SessionStore(), SessionStore()
    mine, theirs = session_hash(session=session), session_hash(session=other)
    shown(mine, "A", clicked_by=[mine, ""])  # its link, opened once in a fresh browser too
    kept = shown(theirs, "B", clicked_by=[theirs, mine, ""])
    assert [i["shown_sku"] for i in session_log(session_hash=mine)["impressions"]] == ["A"]
    assert [c["shown_sku"] for c in session_log(session_hash=mine)["clicks"]] == ["A", "B"]

    assert session_forget(session=session) == 1

    assert EXPERIMENT_ID_KEY not in session
    assert list(Impression.objects.all()) == [kept]
    assert sorted(Click.objects.values_list("session_hash", flat=True)) == ["", theirs]
    assert session_log(session_hash=mine) == {"impressions": [], "clicks": []}


def test_a_session_without_an_experiments_id_erases_nothing():
    shown("", "A", clicked_by=["", ""])  # "": clicks of sessions that had no id

    assert session_forget(session=SessionStore()) == 0

    assert Impression.objects.count() == 1 and Click.objects.count() == 2
    assert session_log(session_hash="") == {"impressions": [], "clicks": []}
