import json

from django.core.management.base import BaseCommand, CommandError

from prodsim_site import embedded


class Command(BaseCommand):
    help = "Start, stop or show prodsim's embedded PostgreSQL+pgvector and Valkey (data in var/)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action: str, **options):
        # A server that will not start or stop is the operator's to fix (a port held by another
        # server, a crashed one): its reason, not a traceback.
        try:
            self._run(action)
        except RuntimeError as exc:  # Postgres/Valkey start errors, embedded.ServicesStopError
            raise CommandError(str(exc)) from exc

    def _run(self, action: str) -> None:
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
