from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Kept for existing scripts: `activate N` is `activate_model N`, `activate --rollback` "
        "is `rollback_model`."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("model_version", nargs="?", type=int)
        group.add_argument("--rollback", action="store_true")

    def handle(self, *args, model_version, rollback, **options):
        if rollback:
            call_command("rollback_model", stdout=self.stdout)
        else:
            call_command("activate_model", model_version, stdout=self.stdout)
