"""evaluate_behaviour --validate-from: the method study printed beside the evaluation."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from behaviour.services.ingest import events_record
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def _days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def test_the_study_prints_every_variant_for_validation_and_test_and_the_choice(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = 90.0
    for sku in "ABC":
        product(sku=sku, title=f"Product {sku}")
    events_record(items=order(["A", "B"], "v1", "o1", days_ago=30))
    events_record(items=order(["A", "B"], "v2", "o2", days_ago=15))
    events_record(items=order(["A", "B"], "v3", "o3", days_ago=2))
    out = io.StringIO()

    call_command(
        "evaluate_behaviour",
        "--validate-from",
        _days_ago(20),
        "--test-from",
        _days_ago(10),
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert "Method study (HR@10: validation, test):" in lines
    served = next(line for line in lines if "served: raw counts, half-life 90 d" in line)
    assert served.split()[-2:] == ["1.0000", "1.0000"]
    assert lines[-1] == "Chosen on validation: served: raw counts, half-life 90 d"


def test_a_validation_start_after_the_test_start_is_refused():
    with pytest.raises(CommandError, match="--validate-from must come before --test-from"):
        call_command(
            "evaluate_behaviour", "--validate-from", "2026-02-01", "--test-from", "2026-01-01"
        )
