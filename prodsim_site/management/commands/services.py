import json

from django.core.management.base import BaseCommand, CommandError

from prodsim_site import embedded

# With DATABASE_URL and REDIS_URL both set nothing here is prodsim's to run, and var/ (root's in
# the Docker image) is neither read nor written.
ALL_EXTERNAL = (
    "External services are configured (DATABASE_URL and REDIS_URL): nothing embedded to {action}."
)
OUTCOMES = {True: "stopped", False: "was not running", None: "external, not stopped"}


class Command(BaseCommand):
    help = (
        "Start, stop or show prodsim's embedded PostgreSQL+pgvector and Valkey (data in var/); "
        "status also shows where external ones (DATABASE_URL, REDIS_URL) are."
    )

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
        if action == "status":
            self.stdout.write(json.dumps(embedded.status(), indent=2))
        elif not embedded.embedded_servers():
            self.stdout.write(ALL_EXTERNAL.format(action=action))
        elif action == "start":
            embedded.ensure_started()
            self.stdout.write(json.dumps(embedded.status(), indent=2))
        else:
            stopped = embedded.stop()
            self.stdout.write(
                ", ".join(
                    f"{name}: {OUTCOMES[stopped.get(name)]}" for name in ("postgres", "valkey")
                )
            )
