import json

from django.core.management.base import BaseCommand

from prodsim_site import embedded


class Command(BaseCommand):
    help = "Start, stop or show prodsim's embedded PostgreSQL+pgvector and Valkey (data in var/)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action: str, **options):
        if action == "start":
            embedded.ensure_started()
        elif action == "stop":
            stopped = embedded.stop()
            self.stdout.write(
                ", ".join(
                    f"{name}: {'stopped' if was else 'was not running'}"
                    for name, was in stopped.items()
                )
            )
            return
        self.stdout.write(json.dumps(embedded.status(), indent=2))
