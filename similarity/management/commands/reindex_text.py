import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from similarity.ml.lexical import FIELDS
from similarity.services.lexical import lexical_index_rebuild
from similarity.services.lexical_pairs import PairsError, matched_pairs_read


class Command(BaseCommand):
    help = (
        "Rebuild the lexical text index (IDF and every product's vector) and switch atomically. "
        "--tune refits the field weights on this catalogue (pseudo-queries, no labels needed); "
        "--pairs FILE.csv refits them on the shop's own matched records instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tune", action="store_true", help="refit the field weights on the catalogue first"
        )
        parser.add_argument(
            "--pairs",
            type=Path,
            help="CSV of matched records (sku plus any of: " + ", ".join(FIELDS) + "); "
            "tunes the weights on them (implies --tune)",
        )

    def handle(self, *args, tune: bool, pairs: Path | None, **options):
        matched = None
        if pairs is not None:
            if not pairs.exists():
                raise CommandError(f"{pairs} does not exist")
            if not pairs.is_file():
                raise CommandError(f"{pairs} is not a file")
            try:
                matched = matched_pairs_read(pairs)
            except (PairsError, UnicodeDecodeError, csv.Error) as exc:
                raise CommandError(f"{pairs}: {exc}") from None
            for problem in matched.problems:
                self.stderr.write(f"{pairs}: {problem} (left out)")
        try:
            index = lexical_index_rebuild(tune=tune, pairs=matched)
        except PairsError as exc:  # products of the file withdrawn since it was read
            raise CommandError(f"{pairs}: {exc}") from None
        weights = index.config.get("fields", {})
        self.stdout.write(f"Lexical index #{index.pk}: {index.documents} products.")
        self.stdout.write(
            "Field weights: "
            + ", ".join(f"{name} {weights[name]:g}" for name in FIELDS if name in weights)
        )
        self.stdout.write(f"Weights: {index.tuning.get('note', 'carried over')}.")
