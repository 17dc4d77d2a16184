"""A shopper's arm: signing in makes them the customer (one arm on every device) and what the
session logged becomes the customer's; an experiment whose candidate was activated, even if
rolled back since, does not resume."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from behaviour.visitors import visitor_hash
from experiments.models import Impression
from experiments.selectors import arm_for, running_experiments
from similarity.services import model_version_activate
from storefront.shopper import customer_visitor_id
from tests.experiments.factories import running

pytestmark = pytest.mark.django_db


def test_an_activated_candidate_ends_the_split_for_good(shop):
    running(shop.candidate, share=50)
    assert "similar" in running_experiments()

    model_version_activate(version=shop.candidate)
    assert "similar" not in running_experiments()
    model_version_activate(version=shop.active)  # rolled back: the candidate is ready again

    assert "similar" not in running_experiments()


def test_signing_in_makes_the_sessions_impressions_the_customers_with_their_arms(client, shop):
    """As the session's events are merged into the customer's: each impression keeps the arm it
    was served under (the figures do not move), and the customer's arm serves from then on."""
    experiment = running(shop.candidate, share=50)
    user = get_user_model().objects.create_user("ann", password="pw-123456-long")
    client.get("/products/SQUARE-0-0/")
    served = list(Impression.objects.order_by("pk").values_list("pk", "experiment", "arm"))
    key_before = client.session.session_key

    signed_in = client.post("/account/sign-in/", {"username": "ann", "password": "pw-123456-long"})
    client.get("/products/SQUARE-0-0/")

    customer = visitor_hash(customer_visitor_id(user.pk))
    assert signed_in.status_code == 302 and client.session.session_key != key_before
    assert (
        list(
            Impression.objects.filter(pk__in=[pk for pk, _, _ in served])
            .order_by("pk")
            .values_list("pk", "experiment", "arm")
        )
        == served
    )
    assert set(Impression.objects.values_list("session_hash", flat=True)) == {customer}
    arm = arm_for(salt=experiment.salt, share=50, shopper_hash=customer)
    newest = Impression.objects.filter(widget="similar").latest("pk")
    assert newest.arm == arm


def test_erasing_ones_data_starts_the_experiments_afresh(client, shop):
    running(shop.candidate, share=50)
    client.get("/products/SQUARE-0-0/")
    before = set(Impression.objects.values_list("session_hash", flat=True))

    client.post("/your-data/erase/")
    Impression.objects.all().delete()
    client.get("/products/SQUARE-0-0/")

    after = set(Impression.objects.values_list("session_hash", flat=True))
    assert after and after.isdisjoint(before)


def test_a_signed_in_customer_is_in_one_arm_on_every_device(shop):
    """Eight browsers of one customer: with a per-session draw at 50 %, both arms would show
    with probability 1 - 2 × 2⁻⁸."""
    running(shop.candidate, share=50)
    get_user_model().objects.create_user("ann", password="pw-123456-long")
    for _ in range(8):
        device = Client()
        device.post("/account/sign-in/", {"username": "ann", "password": "pw-123456-long"})
        device.get("/products/SQUARE-0-0/")

    arms = Impression.objects.filter(widget="similar").values_list("arm", flat=True)
    assert len(arms) == 8 * 6 and len(set(arms)) == 1


def test_activating_another_version_of_the_kind_an_arm_is_served_by_ends_the_split(shop):
    """A scheduled retraining replaced the control arm's version mid-test, and the results
    pooled the two controls. Tests that no version serves keep running."""
    from behaviour.models import SequenceModelVersion
    from behaviour.services.sequence import sequence_version_activate
    from experiments.models import Experiment
    from experiments.services import experiment_start

    running(shop.candidate, share=50)
    newest = experiment_start(
        experiment=Experiment.objects.create(
            name="newest", widget="trending", variant=Experiment.Variant.NEWEST, share=50
        )
    )
    repeats = experiment_start(
        experiment=Experiment.objects.create(
            name="no repeats",
            widget="recommended",
            variant=Experiment.Variant.WITHOUT_REPEATS,
            share=50,
        )
    )
    assert set(running_experiments()) == {"similar", "trending", "recommended"}
    other = type(shop.active).objects.create(
        **{
            field: getattr(shop.active, field)
            for field in ("backbone", "weights", "input_size", "embedding_dim")
        },
        status="ready",
    )

    model_version_activate(version=other)  # neither the candidate nor the control of before
    after_image = set(running_experiments())
    sequence = SequenceModelVersion.objects.create(status="ready", architecture="gru")
    sequence_version_activate(version=sequence)

    assert after_image == {"trending", "recommended"}
    assert set(running_experiments()) == {"trending"}
    assert (newest.active, repeats.active) == (True, True)  # running until the admin stops them
