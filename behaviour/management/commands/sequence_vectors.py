from django.core.management.base import BaseCommand, CommandError

from behaviour.models import SequenceModelVersion
from behaviour.services.sequence import (
    SequenceVectorsError,
    sequence_vectors_backfill,
    sequence_vectors_place_all,
    sequence_vectors_store,
)
from behaviour.services.sequence.vectors import STORE_FAILURES


class Command(BaseCommand):
    help = (
        "Store sequence model versions' item vectors in pgvector with their HNSW index: every "
        "trained version not stored yet (those trained before vectors moved into pgvector, A/B "
        "test candidates never activated), or one --version-id. A version not stored serves from "
        "its vectors file by the exact NumPy product. Then products added since a stored "
        "version trained are placed by their content (the behaviour refresh does this too)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--version-id", type=int, help="only this version")

    def handle(self, *args, **options):
        if options["version_id"] is None:
            done = sequence_vectors_backfill()
        else:
            done = {options["version_id"]: self._store(options["version_id"])}
        failed = [pk for pk, outcome in done.items() if not isinstance(outcome, int)]
        for pk, outcome in done.items():
            if pk in failed:
                self.stderr.write(f"sequence version {pk}: vectors not stored: {outcome}")
            else:
                self.stdout.write(f"sequence version {pk}: stored {outcome} item vectors")
        if not done:
            self.stdout.write("Every trained sequence version's vectors are stored.")
        for pk, added in sequence_vectors_place_all().items():
            self.stdout.write(f"sequence version {pk}: placed {added} new products by content")
        # An archived version serves only after a rollback: one whose file is gone (a disk
        # clean-up) would fail every run, so it is told above but fails none.
        archived = SequenceModelVersion.objects.filter(
            pk__in=failed, status=SequenceModelVersion.Status.ARCHIVED
        ).values_list("pk", flat=True)
        if failed := sorted(set(failed) - set(archived)):
            # The others are stored: a script running the upgrade must still see it.
            versions = ", ".join(map(str, failed))
            raise CommandError(f"the vectors of sequence version(s) {versions} were not stored")

    def _store(self, pk: int) -> int:
        version = SequenceModelVersion.objects.filter(pk=pk).first()
        if version is None:
            raise CommandError(f"no sequence version {pk}")
        try:
            return sequence_vectors_store(version=version)
        except (*STORE_FAILURES, SequenceVectorsError) as exc:
            raise CommandError(str(exc)) from None
