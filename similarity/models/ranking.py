from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

INFINITY = float("inf")  # NaN and infinity fail `< INFINITY` in PostgreSQL

ERROR_ALL_ZERO = "At least one signal needs a weight above 0: with all at 0 nothing is ranked."
ERROR_SECOND_GLOBAL = (
    "There are already weights for all categories: edit that row, or pick a category for this one."
)


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
            # NULLs are distinct in a unique index unless told otherwise: without
            # nulls_distinct=False any number of global rows would pass.
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(category__isnull=True),
                nulls_distinct=False,
                name="one_global_weights",
                violation_error_message=ERROR_SECOND_GLOBAL,
            ),
            models.CheckConstraint(
                condition=Q(
                    image__gte=0, text__gte=0, text_learned__gte=0, attributes__gte=0, price__gte=0
                ),
                name="fusion_weights_non_negative",
            ),
            # PostgreSQL orders NaN above every number: ">= 0" alone lets it in, and one NaN
            # weight made every score NaN, a 500 on every list.
            models.CheckConstraint(
                condition=Q(
                    image__lt=INFINITY,
                    text__lt=INFINITY,
                    text_learned__lt=INFINITY,
                    attributes__lt=INFINITY,
                    price__lt=INFINITY,
                ),
                name="fusion_weights_finite",
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
# A boost multiplies a candidate's score by its factor and a bury divides it: above 1, so that
# each moves its way, and bounded, so that the scores (and explain's figures) stay finite.
MAX_RULE_FACTOR = 1000.0
ERROR_NO_TARGET = "A pin or a block names the product to pin or to hide."
ERROR_NO_POSITION = "A pin needs its position in the list: 1 for the first place."
ERROR_NO_MATCH = "A boost or a bury names the brand or the tag whose products it moves."
ERROR_FACTOR = (
    f"A boost multiplies the score by this factor and a bury divides it by it: give a number "
    f"above 1 (1.5 moves a little, 10 a lot), at most {MAX_RULE_FACTOR:g}."
)
ERROR_NOT_FOR_KIND = "A {kind} does not use this field: leave it empty ({why})."
WHY_NOT_FOR_KIND = {
    "pin": "a pin places one product",
    "block": "a block hides one product",
    "boost": "a boost moves every product of its brand or tag",
    "bury": "a bury moves every product of its brand or tag",
}
ERROR_VALIDITY = "The rule must end after it starts."


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
            models.CheckConstraint(condition=Q(factor__lt=INFINITY), name="rule_factor_finite"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="rule_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        target = (
            self.target_product
            if self.names_a_product
            else " or ".join(part for part in (self.brand, self.tag) if part)
        )
        scope = self.source_product or self.source_category or "everywhere"
        return f"{self.get_kind_display()}: {target} ({scope})"

    @property
    def names_a_product(self) -> bool:
        """Pin and block act on one product; boost and bury on a brand's or a tag's."""
        return self.kind in (self.Kind.PIN, self.Kind.BLOCK)

    def clean(self) -> None:
        # Each of the check constraints as a reason on its field (the database's own message
        # names only the constraint), and no field the kind ignores: it would read as acting.
        errors = {}
        if self.source_product_id is not None and self.source_category_id is not None:
            errors["source_category"] = ERROR_TWO_SCOPES
        if self.names_a_product:
            errors.update(self._product_rule_errors())
        elif self.kind in (self.Kind.BOOST, self.Kind.BURY):
            errors.update(self._match_rule_errors())
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = ERROR_VALIDITY
        if errors:
            raise ValidationError(errors)

    def _product_rule_errors(self) -> dict[str, str]:
        errors = {}
        if self.target_product_id is None:
            errors["target_product"] = ERROR_NO_TARGET
        if self.kind == self.Kind.PIN and (self.position is None or self.position < 1):
            errors["position"] = ERROR_NO_POSITION
        unused = ["brand", "tag"] + (["position"] if self.kind == self.Kind.BLOCK else [])
        return errors | self._unused(unused)

    def _match_rule_errors(self) -> dict[str, str]:
        errors = {}
        if not (self.brand or self.tag):
            errors["brand"] = ERROR_NO_MATCH
        if self.factor is not None and not 1 < self.factor <= MAX_RULE_FACTOR:
            errors["factor"] = ERROR_FACTOR
        return errors | self._unused(["target_product", "position"])

    def _unused(self, names: list[str]) -> dict[str, str]:
        message = ERROR_NOT_FOR_KIND.format(kind=self.kind, why=WHY_NOT_FOR_KIND[self.kind])
        values = {name: getattr(self, name) for name in names if name != "target_product"}
        if "target_product" in names:
            values["target_product"] = self.target_product_id
        return {name: message for name, value in values.items() if value not in (None, "")}
