from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

ERROR_ALL_ZERO = "At least one signal needs a weight above 0: with all at 0 nothing is ranked."


class FusionWeights(models.Model):
    """How much each signal counts in the fused score: globally (no category) or per category.

    A category's row applies to its whole subtree unless a deeper category has its own.
    """

    category = models.OneToOneField(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    image = models.FloatField(default=0.55)
    text = models.FloatField(default=0.2, help_text="Lexical: names, model numbers.")
    text_learned = models.FloatField(default=0.1, help_text="The text tower's vectors.")
    attributes = models.FloatField(default=0.1, help_text="Tags/attributes, brand, category.")
    price = models.FloatField(default=0.05)

    class Meta:
        verbose_name_plural = "fusion weights"
        constraints = [
            models.UniqueConstraint(
                fields=["category"], condition=Q(category__isnull=True), name="one_global_weights"
            ),
            models.CheckConstraint(
                condition=Q(
                    image__gte=0, text__gte=0, text_learned__gte=0, attributes__gte=0, price__gte=0
                ),
                name="fusion_weights_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"weights for {self.category or 'all categories'}"

    def clean(self) -> None:
        # All zero would give every candidate the score 0: the list in id order.
        if not any((self.image, self.text, self.text_learned, self.attributes, self.price)):
            raise ValidationError(ERROR_ALL_ZERO)


ERROR_TWO_SCOPES = (
    "A rule applies to one source product's list or to a category's lists, not both: leave one "
    "of them empty (two rules can say both)."
)


class MerchandisingRule(models.Model):
    """A curation rule the serving query applies: pin, block, boost or bury.

    Scope: one source product (its similar list), a source category subtree, or everywhere.
    Pin and block name a target product; boost and bury match candidates by brand or tag.
    """

    class Kind(models.TextChoices):
        PIN = "pin", "pin product at position"
        BLOCK = "block", "never show product"
        BOOST = "boost", "boost brand/tag"
        BURY = "bury", "bury brand/tag"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Applies to this product's similar list (empty: see category).",
    )
    source_category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Applies to products in this category subtree (both empty: everywhere).",
    )
    target_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Pin/block: the product to pin or hide.",
    )
    position = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pin: 1-based position in the list."
    )
    brand = models.CharField(max_length=200, blank=True, help_text="Boost/bury: this brand…")
    tag = models.CharField(max_length=100, blank=True, help_text="…or this tag.")
    factor = models.FloatField(default=1.5, help_text="Boost multiplies the score; bury divides.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["pin", "block"]) | Q(target_product__isnull=False),
                name="pin_and_block_name_a_product",
            ),
            models.CheckConstraint(
                condition=~Q(kind="pin") | Q(position__gte=1), name="pin_has_a_position"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["boost", "bury"]) | ~Q(brand="", tag=""),
                name="boost_and_bury_name_a_brand_or_tag",
            ),
            models.CheckConstraint(condition=Q(factor__gt=0), name="rule_factor_positive"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="rule_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        target = self.target_product or self.brand or self.tag
        scope = self.source_product or self.source_category or "everywhere"
        return f"{self.get_kind_display()}: {target} ({scope})"

    def clean(self) -> None:
        if self.source_product_id is not None and self.source_category_id is not None:
            raise ValidationError({"source_category": ERROR_TWO_SCOPES})
