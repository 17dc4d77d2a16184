"""A shopper keeps their arm: signing in (which renews the session key) does not draw it again,
and an experiment whose candidate was activated, even if rolled back since, does not resume."""

import pytest
from django.contrib.auth import get_user_model

from experiments.models import Impression
from experiments.selectors import running_experiments
from similarity.services import model_version_activate
from tests.experiments.factories import running

pytestmark = pytest.mark.django_db


def test_an_activated_candidate_ends_the_split_for_good(shop):
    running(shop.candidate, share=50)
    assert "similar" in running_experiments()

    model_version_activate(version=shop.candidate)
    assert "similar" not in running_experiments()
    model_version_activate(version=shop.active)  # rolled back: the candidate is ready again

    assert "similar" not in running_experiments()


def test_signing_in_keeps_the_shoppers_experiment_id(client, shop):
    running(shop.candidate, share=50)
    get_user_model().objects.create_user("ann", password="pw-123456-long")
    client.get("/products/SQUARE-0-0/")
    before = set(Impression.objects.values_list("session_hash", flat=True))
    key_before = client.session.session_key

    signed_in = client.post("/account/sign-in/", {"username": "ann", "password": "pw-123456-long"})
    Impression.objects.all().delete()
    client.get("/products/SQUARE-0-0/")

    assert signed_in.status_code == 302 and client.session.session_key != key_before
    assert set(Impression.objects.values_list("session_hash", flat=True)) == before
    assert len(before) == 1


def test_erasing_ones_data_starts_the_experiments_afresh(client, shop):
    running(shop.candidate, share=50)
    client.get("/products/SQUARE-0-0/")
    before = set(Impression.objects.values_list("session_hash", flat=True))

    client.post("/your-data/erase/")
    Impression.objects.all().delete()
    client.get("/products/SQUARE-0-0/")

    after = set(Impression.objects.values_list("session_hash", flat=True))
    assert after and after.isdisjoint(before)
