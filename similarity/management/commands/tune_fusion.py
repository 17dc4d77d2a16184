from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from similarity.selectors import active_version
from similarity.services.tuning import NothingToTuneOn, fusion_tune


class Command(BaseCommand):
    help = (
        "Tune the global fusion weights on the active version's validation products and "
        "store them (admin: Similarity → Fusion weights)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report, do not store")

    def handle(self, *args, dry_run: bool, **options):
        version = active_version()
        if version is None:
            raise CommandError("no active model version: train one first")
        try:
            weights, table = fusion_tune(version=version, save=not dry_run)
        except NothingToTuneOn as exc:
            raise CommandError(str(exc)) from None
        best = max(table, key=lambda row: row["category_precision_at_10"])
        self.stdout.write(f"{len(table)} weightings on {best['queries']} validation products")
        self.stdout.write(f"best: {asdict(weights)}  P@10 {best['category_precision_at_10']:.3f}")
