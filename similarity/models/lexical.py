from django.db import models
from django.db.models import Q
from pgvector.django import HalfVectorField, SparseVectorField

from ..ml.lexical import DIMENSIONS as LEXICAL_DIMENSIONS
from ..ml.lexical.sketch import SKETCH_DIMENSIONS


class LexicalIndex(models.Model):
    """The IDF table and field weights of one lexical build over the catalogue; exactly one is
    current. Products changed since the IDF fit are counted so a drift triggers a refit."""

    documents = models.PositiveIntegerField()
    idf = models.JSONField(help_text="Hashed-feature document frequencies (IdfTable.as_json).")
    config = models.JSONField(
        default=dict, help_text="Family and field weights in use (LexicalConfig.as_json)."
    )
    tuning = models.JSONField(
        default=dict, help_text="How the field weights were chosen (TuningResult.as_json)."
    )
    changed_products = models.PositiveIntegerField(
        default=0, help_text="Products re-vectorised, added or removed since the IDF was fitted."
    )
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "lexical indexes"
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="one_current_lexical_index",
            )
        ]

    def __str__(self) -> str:
        return f"lexical index #{self.pk} ({self.documents} products)"


class ProductText(models.Model):
    """A product's lexical TF-IDF vector (hashed char n-grams, words, model numbers) and its
    dense sketch. Each lexical index's sketches get an HNSW index of their own, built once its
    rows are written (vector_store.lexical), so none is declared here."""

    lexical_index = models.ForeignKey(LexicalIndex, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    vector = SparseVectorField(dimensions=LEXICAL_DIMENSIONS)
    sketch = HalfVectorField(
        dimensions=SKETCH_DIMENSIONS, help_text="Count sketch of the vector (ml.lexical.sketch)."
    )
    text_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lexical_index", "product"], name="one_text_per_product_and_index"
            )
        ]

    def __str__(self) -> str:
        return f"text of product {self.product_id} @ lexical #{self.lexical_index_id}"
