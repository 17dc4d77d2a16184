from django.db import models
from pgvector.django import VectorField

from .versions import ModelVersion


class ImageEmbedding(models.Model):
    """The vector of one product image under one model version (untyped `vector`: any dim)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("catalog.ProductImage", on_delete=models.CASCADE, related_name="+")
    image_sha256 = models.CharField(max_length=64, help_text="Image content it was computed from.")
    embedding = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "image"], name="one_embedding_per_image_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} @ v{self.model_version_id}"


class ProductEmbedding(models.Model):
    """A product's vector under one version: the re-normalised mean of its image vectors.

    Similar-item queries run on these rows through a per-version partial HNSW index.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    embedding = VectorField()
    text_embedding = VectorField(
        null=True, blank=True, help_text="The product text through the version's text tower."
    )
    image_count = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product"], name="one_embedding_per_product_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} @ v{self.model_version_id}"
