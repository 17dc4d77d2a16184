"""Operators' commands: behaviour_refresh and evaluate_behaviour."""

import datetime as dt
import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from behaviour.models import BehaviourEvaluation, BehaviourRefresh
from behaviour.services.ingest import events_record
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_behaviour_refresh_reports_what_it_built():
    for sku in "AB":
        product(sku=sku)
    events_record(items=order(["A", "B"], "v1", "o1"))

    output = run("behaviour_refresh")
    again = run("behaviour_refresh", "--full")

    assert output.startswith("2 events, 2 products: 2 bought-together pairs, 0 also-viewed pairs")
    assert "(full (first), " in output and "(full (asked), " in again
    assert list(BehaviourRefresh.objects.values_list("state", flat=True)) == ["succeeded"] * 2


def test_evaluate_behaviour_prints_and_keeps_every_method(settings):
    for sku in "ABC":
        product(sku=sku)
    events_record(items=order(["A", "B"], "v1", "o1", days_ago=20))
    events_record(items=order(["A", "B"], "v2", "o2", days_ago=2))

    output = run("evaluate_behaviour", "--test-from", _days_ago(10))

    assert "1 training orders, 1 test orders of 2 to 100 products, 2 pairs (0.0 %" in output
    assert "HR@10 co-purchase counts       1.0000" in output
    assert BehaviourEvaluation.objects.get().result["methods"]["prodsim (raw)"]["hr"] == 1.0


def test_evaluate_behaviour_without_test_orders_says_so():
    with pytest.raises(CommandError, match="no test orders of 2 or more products from 2030-01-01"):
        run("evaluate_behaviour", "--test-from", "2030-01-01")


def test_evaluate_behaviour_refuses_a_test_window_that_ends_before_it_starts():
    with pytest.raises(CommandError, match="--test-until must come after --test-from"):
        run("evaluate_behaviour", "--test-from", _days_ago(10), "--test-until", _days_ago(15))


def _days_ago(days: int) -> str:
    import datetime as dt

    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


@pytest.mark.django_db(transaction=True)
def test_train_behaviour_takes_sampled_negatives_and_ids_only(settings, tmp_path):
    from behaviour.models import SequenceModelVersion

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"

    with pytest.raises(CommandError, match="no events to learn from"):
        run("train_behaviour", "--negatives", "50", "--no-content", "--epochs", "1")
    with pytest.raises(CommandError, match="negatives must be 0"):
        run("train_behaviour", "--negatives", "-1")

    params = SequenceModelVersion.objects.get().params
    assert (params["negatives"], params["use_content"], params["epochs"]) == (50, False, 1)


@pytest.mark.parametrize(
    ("auto", "flags", "activates"),
    [(True, [], True), (False, [], False), (True, ["--no-activate"], False)],
)
def test_train_behaviour_activates_as_the_shop_set_it_unless_told_not_to(
    settings, auto, flags, activates
):
    from behaviour.models import SequenceModelVersion

    settings.PRODSIM_AUTO_ACTIVATE = auto

    run("train_behaviour", "--queue", *flags)

    assert SequenceModelVersion.objects.get().auto_activate is activates


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "0", "epochs must be at least 1, not 0"),
        ("--epochs", "-2", "epochs must be at least 1, not -2"),
        ("--batch-size", "0", "batch_size must be at least 1, not 0"),
        ("--dim", "2", "dim must be at least 4, not 2"),  # the admin form's least too
        ("--seed", "-1", "seed must be from 0 to 4294967295, not -1"),  # NumPy's range
        ("--seed", str(2**32), "seed must be from 0 to 4294967295, not 4294967296"),
        ("--epochs", "100000", "epochs must be at most 200, not 100000"),  # the form's cap too
        ("--dim", "100000", "dim must be at most 512, not 100000"),
    ],
)
def test_train_behaviour_refuses_a_number_that_trains_nothing_before_making_a_version(
    settings, tmp_path, option, value, message
):
    from behaviour.models import SequenceModelVersion, SequenceTrainingJob

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"

    with pytest.raises(CommandError, match=message):
        run("train_behaviour", option, value)

    assert not SequenceModelVersion.objects.exists() and not SequenceTrainingJob.objects.exists()


def test_evaluate_behaviour_refuses_a_bad_date_with_a_usage_error_not_a_traceback():
    # manage.py prints a usage error for a CommandError raised while parsing, not a traceback.
    result = subprocess.run(
        [sys.executable, "manage.py", "evaluate_behaviour", "--test-from", "2026-13-45"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-600:]
    assert "--test-from: not a date (YYYY-MM-DD): '2026-13-45'" in result.stderr


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-10-01", dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
        ("2026-10-01T00:00:00+05:00", dt.datetime(2026, 9, 30, 19, tzinfo=dt.UTC)),
    ],
)
def test_evaluate_behaviour_reads_a_date_as_utc_and_a_time_with_an_offset_as_that_moment(
    text, moment
):
    from behaviour.management.commands.evaluate_behaviour import _date

    assert _date(text) == moment
