import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog import selectors
from catalog.demo import demo_sku_regex, write_demo_catalogue

ERROR_PER_CATEGORY = "--per-category must be at least 1, not {count}"
ERROR_NOT_A_DEMO_SHOP = (
    "this shop holds products that are not the demo's (e.g. {sku}): the demo would be mixed "
    "into its catalogue and replace any product that has a demo SKU; --into-this-shop loads "
    "it anyway"
)


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
        parser.add_argument(
            "--seed", type=int, default=7, help="another seed makes another demo catalogue"
        )
        parser.add_argument(
            "--into-this-shop",
            action="store_true",
            help="load it even though the shop holds products of its own",
        )

    def handle(self, *args, per_category: int, seed: int, into_this_shop: bool, **options):
        if per_category < 1:
            raise CommandError(ERROR_PER_CATEGORY.format(count=per_category))
        other = selectors.product_sku_not_matching(regex=demo_sku_regex())
        if other is not None and not into_this_shop:
            raise CommandError(ERROR_NOT_A_DEMO_SHOP.format(sku=other))
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
