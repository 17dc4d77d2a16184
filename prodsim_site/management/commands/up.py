from django.core.management.base import BaseCommand

from prodsim_site.runner import run_all


class Command(BaseCommand):
    help = "What `make run` runs: prepare prodsim (services, migrations, admin, demo) and serve it."

    def handle(self, *args, **options):
        raise SystemExit(run_all(self.stdout))
