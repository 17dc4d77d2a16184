from django.core.management.base import BaseCommand, CommandError

from behaviour.services.refresh import behaviour_refresh


class Command(BaseCommand):
    help = (
        "Rebuild bought together, also viewed and trending from the events now (beat does this "
        "every PRODSIM_BEHAVIOUR_REFRESH_S seconds when events arrived)."
    )

    def handle(self, *args, **options):
        refresh = behaviour_refresh()
        if refresh is None:
            raise CommandError("another refresh is running; try again when it has finished")
        stats = refresh.stats
        self.stdout.write(
            f"{stats['events']} events, {stats['products']} products: "
            f"{stats['bought_together']} bought-together pairs, "
            f"{stats['also_viewed']} also-viewed pairs, {stats['trending']} trending products "
            f"({(refresh.finished_at - refresh.started_at).total_seconds():.1f} s)"
        )
