from django.core.management.base import BaseCommand

from similarity.ml.lexical import FIELDS
from similarity.services.lexical import lexical_index_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the lexical text index (IDF and every product's vector) and switch atomically. "
        "--tune refits the field weights on this catalogue (pseudo-queries, no labels needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tune", action="store_true", help="refit the field weights on the catalogue first"
        )

    def handle(self, *args, **options):
        index = lexical_index_rebuild(tune=options["tune"])
        weights = index.config.get("fields", {})
        self.stdout.write(f"Lexical index #{index.pk}: {index.documents} products.")
        self.stdout.write(
            "Field weights: "
            + ", ".join(f"{name} {weights[name]:g}" for name in FIELDS if name in weights)
        )
        self.stdout.write(f"Weights: {index.tuning.get('note', 'carried over')}.")
