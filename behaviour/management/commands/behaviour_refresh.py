from django.core.management.base import BaseCommand, CommandError

from behaviour.services.refresh import behaviour_refresh


class Command(BaseCommand):
    help = (
        "Bring bought together, also viewed and trending up to the events now: an increment "
        "(the orders and visits new events touch), or with --full a rebuild from every event "
        "(beat refreshes every PRODSIM_BEHAVIOUR_REFRESH_S seconds when events arrived)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="recount every event")

    def handle(self, *args, full: bool = False, **options):
        refresh = behaviour_refresh(full=full)
        if refresh is None:
            raise CommandError("another refresh is running; try again when it has finished")
        stats = refresh.stats
        products = f", {stats['products']} products" if "products" in stats else ""
        self.stdout.write(
            f"{stats['events']} events{products}: "
            f"{stats.get('bought_together', 0)} bought-together pairs, "
            f"{stats.get('also_viewed', 0)} also-viewed pairs, "
            f"{stats.get('trending', 0)} trending products written "
            f"({stats['mode']}, {(refresh.finished_at - refresh.started_at).total_seconds():.1f} s)"
        )
