from django.core.management.base import BaseCommand

from similarity.services.lexical import lexical_index_rebuild


class Command(BaseCommand):
    help = "Rebuild the lexical text index (IDF and every product's vector); switch atomically."

    def handle(self, *args, **options):
        index = lexical_index_rebuild()
        self.stdout.write(f"Lexical index #{index.pk}: {index.documents} products.")
