"""manage.py reap_jobs [--dry-run]: what the reaper on beat does, now (core.jobs.reaper)."""

from django.core.management.base import BaseCommand

from core.jobs.reaper import jobs_reap


class Command(BaseCommand):
    help = (
        "Send jobs whose worker went silent (no heartbeat for PRODSIM_JOB_STALE_S, or queued "
        "for PRODSIM_JOB_QUEUED_STALE_S) back to their queue, once each."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the silent jobs; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        reaped = jobs_reap(dry_run=dry_run)
        verb = "would requeue" if dry_run else "requeued"
        for job in reaped:
            self.stdout.write(f"{verb} {job}")
        self.stdout.write(f"{len(reaped)} job(s) {verb}.")
