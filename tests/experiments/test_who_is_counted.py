"""Who the experiments count as a shopper: not a crawler, a new visitor on the home page of
a trending test from their first page on, and not the impressions an erasure left to nobody."""

import pytest

from behaviour.services.visitors import visitor_erase
from behaviour.visitors import visitor_hash
from experiments import selectors
from experiments.models import Click, Experiment, Impression
from experiments.services import experiment_start
from experiments.sessions import SHOPPER_KEY
from experiments.stats import wilson_interval
from tests.experiments.factories import impressions, running

pytestmark = pytest.mark.django_db

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_a_crawler_is_served_as_everyone_and_not_counted(client, shop):
    """A crawler keeps no cookies: each page would be a new shopper with a new arm draw."""
    running(shop.candidate, share=100)
    assert client.get("/", HTTP_USER_AGENT=GOOGLEBOT).status_code == 200
    similar = client.get("/products/SQUARE-0-0/", HTTP_USER_AGENT=GOOGLEBOT).context["similar"]
    assert client.get("/", HTTP_USER_AGENT=GOOGLEBOT).status_code == 200

    assert Impression.objects.count() == 0
    assert SHOPPER_KEY not in client.session  # no identity started for it
    # The control arm (the active version's order), linked to the products themselves.
    assert [item.product.sku for item in similar][:2] == ["BAR-0-0", "BAR-0-1"]
    assert {item.click_url for item in similar} == {""}


def test_in_a_trending_test_a_new_visitor_sees_one_arm_from_the_first_page(client, shop):
    """share=100: everyone is in the candidate arm (the newest products), their first home page
    included, which starts their session so that the arm is drawn and counted."""
    experiment_start(
        experiment=Experiment.objects.create(
            name="newest", widget="trending", variant="newest", share=100
        )
    )
    first = [item.product.sku for item in client.get("/").context["trending"]]
    client.get("/products/SQUARE-0-0/")
    later = [item.product.sku for item in client.get("/").context["trending"]]

    assert first == later
    assert set(Impression.objects.filter(widget="trending").values_list("arm", flat=True)) == {
        "candidate"
    }
    assert Impression.objects.filter(widget="trending").count() == 2 * len(first)


def test_impressions_kept_under_no_shopper_count_as_no_shopper(shop):
    """Erased shoppers' impressions that another shopper clicked stay, naming nobody: in the
    impressions and the CTR, as one shopper each in its interval, and no shopper in the count
    or the sample ratio check (as one, they read as one shopper clicking all they saw)."""
    experiment = running(shop.candidate, 50)
    impressions(experiment, shop.active, "control", 30, [])
    for i in range(5):  # links of 5 shoppers, passed on to a friend who clicked them
        row = Impression.objects.create(
            widget="similar",
            shown_product=shop.products["SQUARE-0-0"],
            position=1,
            model_version=shop.active,
            experiment=experiment,
            arm="control",
            session_hash=visitor_hash(f"gone-{i}"),
        )
        Click.objects.create(impression=row, session_hash=visitor_hash("friend"))
        visitor_erase(visitor_id=f"gone-{i}")

    control = selectors.experiment_results(experiment=experiment).arms["control"]

    assert (control.impressions, control.clicked_impressions) == (35, 5)
    assert control.shoppers == 30
    assert control.ctr == wilson_interval(5, 35)  # one impression per group: the textbook one
