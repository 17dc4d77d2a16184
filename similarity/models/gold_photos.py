from django.db import models


class GoldPhoto(models.Model):
    """An admin's own query photo (e.g. a phone shot in the shop) and the SKU it should find.

    Together they are the gold photo set every model version is scored on. The photo is kept
    re-encoded in the row (validated like catalogue images), so a deleted row leaves no file
    behind. The SKU is kept as text: a product re-imported under a new id still matches.
    """

    image = models.BinaryField(help_text="The validated, re-encoded photo (JPEG or PNG).")
    sha256 = models.CharField(max_length=64, help_text="Of the uploaded file.")
    expected_sku = models.CharField(max_length=64, help_text="The product the photo shows.")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256", "expected_sku"], name="one_gold_photo_per_sku"
            )
        ]

    def __str__(self) -> str:
        return f"gold photo {self.pk} → {self.expected_sku}"
