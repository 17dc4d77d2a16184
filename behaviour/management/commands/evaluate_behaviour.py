import argparse
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from behaviour.services.evaluation import bought_together_evaluate
from behaviour.services.evaluation_runs import evaluation_record
from behaviour.services.evaluation_study import bought_together_study


def _date(text: str) -> dt.datetime:
    """A date (UTC midnight) or a date-time: UTC when naive, the same moment when it has an
    offset. argparse turns ArgumentTypeError into a usage error (no traceback)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


class Command(BaseCommand):
    help = (
        "Offline quality of bought together: learn from the orders before --test-from, test on "
        "the later ones (HR@10 of the served scorer next to popularity and raw co-purchase "
        "counts). The result is kept for the admin's behaviour page. With --validate-from, "
        "also the method study: every candidate scorer learned before --validate-from and "
        "measured to --test-from (validation), then on the test orders."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--test-from",
            required=True,
            type=_date,
            help="YYYY-MM-DD (UTC): test from this day's start",
        )
        parser.add_argument(
            "--test-until",
            type=_date,
            help="YYYY-MM-DD (UTC): test orders before this day's start (default: all)",
        )
        parser.add_argument("--validate-from", type=_date, help="YYYY-MM-DD (UTC): the study")

    def handle(self, *args, test_from, test_until, validate_from, **options):
        if validate_from and validate_from >= test_from:
            raise CommandError("--validate-from must come before --test-from")
        if test_until and test_until <= test_from:
            raise CommandError("--test-until must come after --test-from")
        result = bought_together_evaluate(test_from=test_from, test_until=test_until)
        if not result["pairs"]:
            raise CommandError(f"no test orders of 2 or more products from {test_from:%Y-%m-%d}")
        evaluation_record(result=result)
        self.stdout.write(
            f"{result['train_orders']} training orders, "
            f"{result['test_orders']} test orders of 2 to 100 products, "
            f"{result['pairs']} pairs ({100 * result['cold_share']:.1f} % with a new product)"
        )
        for name, figures in result["methods"].items():
            self.stdout.write(f"  HR@{result['k']} {name:<24} {figures['hr']:.4f}")
        if validate_from:
            self._study(validate_from, test_from, test_until)

    def _study(self, validate_from, test_from, test_until):
        study = bought_together_study(
            validate_from=validate_from, test_from=test_from, test_until=test_until
        )
        self.stdout.write(f"Method study (HR@{study['k']}: validation, test):")
        for name, row in study["variants"].items():
            self.stdout.write(f"  {name:<60} {_figure(row['validation'])} {_figure(row['test'])}")
        ceilings = study["ceilings"]
        label = "ceiling: each period's own counts"
        self.stdout.write(
            f"  {label:<60} {_figure(ceilings['validation']['all'])} "
            f"{_figure(ceilings['test']['all'])}"
        )
        self.stdout.write(f"Chosen on validation: {study['chosen']}")


def _figure(value) -> str:
    return "   –  " if value is None else f"{value:.4f}"
