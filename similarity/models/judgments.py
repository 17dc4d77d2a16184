from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Judgment(models.Model):
    """An admin's verdict on one pair (source product, product shown for it): the gold set.

    One row per pair; marking it again updates the verdict. The source's category path is kept
    as it was when judged, so the per-category gold set does not move when the catalogue does.
    """

    class Verdict(models.TextChoices):
        GOOD = "good"
        BAD = "bad"

    source = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=4, choices=Verdict.choices)
    category_path = models.CharField(
        max_length=1000, blank=True, help_text="The source's category when it was judged."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="one_judgment_per_pair"),
            models.CheckConstraint(
                condition=~Q(source=F("target")), name="judgment_pair_of_two_products"
            ),
        ]
        indexes = [models.Index(fields=["category_path"], name="judgment_category_path")]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}: {self.verdict}"
