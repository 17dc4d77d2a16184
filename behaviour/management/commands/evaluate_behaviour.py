import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from behaviour.services.evaluation import bought_together_evaluate
from behaviour.services.evaluation_runs import evaluation_record


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from None


class Command(BaseCommand):
    help = (
        "Offline quality of bought together: learn from the orders before --test-from, test on "
        "the later ones (HR@10 of the served scorer next to popularity and raw co-purchase "
        "counts). The result is kept for the admin's behaviour page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--test-from", required=True, type=_date, help="YYYY-MM-DD (UTC)")
        parser.add_argument("--test-until", type=_date, help="YYYY-MM-DD (UTC), default: all")

    def handle(self, *args, test_from, test_until, **options):
        result = bought_together_evaluate(test_from=test_from, test_until=test_until)
        if not result["pairs"]:
            raise CommandError(f"no test orders of 2 or more products from {test_from:%Y-%m-%d}")
        evaluation_record(result=result)
        self.stdout.write(
            f"{result['train_orders']} training orders, {result['test_orders']} test orders, "
            f"{result['pairs']} pairs ({100 * result['cold_share']:.1f} % with a new product)"
        )
        for name, figures in result["methods"].items():
            self.stdout.write(f"  HR@{result['k']} {name:<24} {figures['hr']:.4f}")
