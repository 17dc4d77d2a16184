"""The bought-together method study over the stored events: two time splits, one choice."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.services.evaluation_study import bought_together_study, chosen, served_name
from behaviour.services.ingest import events_record
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def test_every_variant_is_measured_on_validation_and_test_and_the_served_one_is_kept(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = 90.0
    for sku, title in [("A", "Red lunch bag"), ("B", "Tea set"), ("C", "Red lunch box")]:
        product(sku=sku, title=title)
    product(sku="D", title="Blue vase")
    for number in range(3):
        events_record(items=order(["A", "B"], f"v{number}", f"learn{number}", days_ago=30))
    events_record(items=order(["A", "B"], "v5", "validate", days_ago=15))
    events_record(items=order(["A", "B"], "v6", "test1", days_ago=5))
    events_record(items=order(["A", "C"], "v7", "test2", days_ago=4))
    now = timezone.now()

    result = bought_together_study(
        validate_from=now - dt.timedelta(days=20), test_from=now - dt.timedelta(days=10)
    )

    served = result["variants"][served_name()]
    assert served_name() == "served: raw counts, half-life 90 d"
    assert (served["validation"], served["test"]) == (1.0, 0.75)  # A→C and C→A: C is new
    # Only A and B were bought before: popularity lists them alone, and misses A→C too.
    assert result["variants"]["popularity"]["test"] == 0.75
    assert result["ceilings"]["test"] == {"all": 1.0, "seen": 0.5}
    titles = result["variants"]["+ title neighbours prior (m=2)"]
    assert (titles["test"], titles["test_cold"]) == (1.0, 1.0)  # C's title twin is A
    assert result["chosen"] == served_name()  # a tie on validation keeps what is served


def test_a_variant_replaces_the_served_one_only_by_a_clear_margin_on_validation(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = 90.0
    served = served_name()
    close = {served: {"validation": 0.100}, "other": {"validation": 0.1019}}
    clear = {served: {"validation": 0.100}, "other": {"validation": 0.1021}}

    assert chosen(close) == served
    assert chosen(clear) == "other"
