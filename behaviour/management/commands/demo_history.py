from django.core.management.base import BaseCommand, CommandError

from behaviour import demo
from behaviour.services.refresh import behaviour_refresh
from catalog import selectors as catalog_selectors
from catalog.demo import demo_sku_regex

ERROR_NEGATIVE = "--{option} must be 0 or more, not {count}"
ERROR_NOT_A_DEMO_SHOP = (
    "this shop's catalogue is not the demo's (e.g. {sku}): a demo history beside its shoppers' "
    "own would skew bought together, trending and training; --into-this-shop loads it anyway"
)


class Command(BaseCommand):
    help = (
        "Record a believable, seeded order and browsing history for the shop's catalogue (made "
        "for the demo shop), then refresh bought together, also viewed and trending. Re-running "
        "it with the same seed records nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=7, help="another seed records another history"
        )
        parser.add_argument("--orders", type=int, default=demo.ORDERS, help="orders to record")
        parser.add_argument(
            "--visits", type=int, default=demo.VISITS, help="browsing visits to record"
        )
        parser.add_argument(
            "--into-this-shop",
            action="store_true",
            help="record it even though the catalogue is not the demo's",
        )

    def handle(self, *args, seed: int, orders: int, visits: int, into_this_shop: bool, **options):
        for option, count in (("orders", orders), ("visits", visits)):
            if count < 0:
                raise CommandError(ERROR_NEGATIVE.format(option=option, count=count))
        other = catalog_selectors.product_sku_not_matching(regex=demo_sku_regex())
        if other is not None and not into_this_shop:
            raise CommandError(ERROR_NOT_A_DEMO_SHOP.format(sku=other))
        loaded = demo.demo_history_load(seed=seed, orders=orders, visits=visits)
        self.stdout.write(
            f"{loaded.accepted} events recorded, {loaded.duplicates} already there, "
            f"{loaded.rejected} rejected ({len(loaded.bundles)} bundles)"
        )
        refreshed = behaviour_refresh()
        self.stdout.write("lists refreshed" if refreshed else "another refresh is running")
