"""Impressions and clicks name a session hash and what it was shown: they are kept no longer than
the shoppers' events, and expired sessions (an anonymous shopper's visitor id) go daily too."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from experiments.models import Click, Impression
from experiments.tasks import impressions_retention_task
from prodsim_site.tasks import sessions_clear_task
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def shown(days_ago: int, clicks: int) -> Impression:
    impression = Impression.objects.create(
        widget=Impression.Widget.SIMILAR,
        shown_product=product(sku=f"P{days_ago}"),
        position=1,
        session_hash="a" * 64,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )
    Click.objects.bulk_create(Click(impression=impression) for _ in range(clicks))
    return impression


def test_impressions_past_the_retention_go_with_their_clicks(settings):
    settings.PRODSIM_EVENT_RETENTION_DAYS = 30
    kept = shown(days_ago=29, clicks=1)
    shown(days_ago=31, clicks=2)

    impressions_retention_task.apply().get()

    assert list(Impression.objects.all()) == [kept]
    assert list(Click.objects.values_list("impression", flat=True)) == [kept.pk]


def test_expired_sessions_are_cleared_daily():
    for age in (1, -1):  # expired a day ago; expires in a day
        session = SessionStore()
        session["visitor"] = "anonymous"
        session.set_expiry(timezone.now() - dt.timedelta(days=age))
        session.save()

    sessions_clear_task.apply().get()

    assert Session.objects.count() == 1
    assert Session.objects.get().expire_date > timezone.now()
