import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.demo import write_demo_catalogue

ERROR_PER_CATEGORY = "--per-category must be at least 1, not {count}"


class Command(BaseCommand):
    help = (
        "Generate the offline demo shop (10 categories, generated product photos) and import it "
        "through the normal catalogue import. Re-running it changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--per-category",
            type=int,
            default=36,
            help="products per category (default 36 → 360 products)",
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, per_category: int, seed: int, **options):
        if per_category < 1:
            raise CommandError(ERROR_PER_CATEGORY.format(count=per_category))
        with tempfile.TemporaryDirectory(prefix="prodsim-demo-") as out_dir:
            csv_path = write_demo_catalogue(
                out_dir=Path(out_dir), seed=seed, products_per_category=per_category
            )
            call_command(
                "import_catalogue",
                str(csv_path),
                images=csv_path.parent / "images",
                verbosity=options["verbosity"],
                stdout=self.stdout,
            )
