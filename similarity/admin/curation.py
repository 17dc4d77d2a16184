"""What admins curate: fusion weights, merchandising rules and the gold set's judgments."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog import selectors as catalog_selectors

from ..models import FusionWeights, Judgment, MerchandisingRule
from ..selectors.merchandising import rule_in_force

TOUCHED_PRODUCTS_SHOWN = 20  # a rule's page lists this many matches, then only their count


@admin.register(FusionWeights)
class FusionWeightsAdmin(admin.ModelAdmin):
    """Signal weights of the fused score; a category's row applies to its subtree."""

    list_display = ["__str__", "image", "text", "text_learned", "attributes", "price"]
    autocomplete_fields = ["category"]


@admin.register(MerchandisingRule)
class MerchandisingRuleAdmin(admin.ModelAdmin):
    """Pins, blocks, boosts and buries, with validity dates and the products they touch."""

    list_display = [
        "__str__",
        "kind",
        "applies_to",
        "touches",
        "position",
        "factor",
        "valid_from",
        "valid_until",
        "is_active",
        "in_force_now",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["source_product", "source_category", "target_product"]
    autocomplete_fields = ["source_product", "source_category", "target_product"]
    search_fields = ["note", "brand", "tag", "target_product__sku", "source_product__sku"]
    readonly_fields = ["in_force_now", "touched_products"]

    @admin.display(description="Applies to the similar lists of")
    def applies_to(self, rule: MerchandisingRule) -> str:
        if rule.source_product is not None:
            return _product_link(rule.source_product)
        if rule.source_category is not None:
            return f"category {rule.source_category.path} (and below)"
        return "every product"

    @admin.display(description="Products it touches")
    def touches(self, rule: MerchandisingRule) -> str:
        # The list shows the matching brand/tag, not the products: one query per row otherwise.
        if rule.names_a_product and rule.target_product is not None:
            return _product_link(rule.target_product)
        return " or ".join(
            part
            for part in (rule.brand and f"brand {rule.brand}", rule.tag and f"tag {rule.tag}")
            if part
        )

    @admin.display(description="In force now", boolean=True)
    def in_force_now(self, rule: MerchandisingRule) -> bool:
        return rule_in_force(rule)

    @admin.display(description="Products it touches")
    def touched_products(self, rule: MerchandisingRule) -> str:
        if rule.pk is None:
            return "–"
        if rule.names_a_product:
            return _product_link(rule.target_product) if rule.target_product else "–"
        products = catalog_selectors.products_with_brand_or_tag(brand=rule.brand, tag=rule.tag)
        shown = list(products[:TOUCHED_PRODUCTS_SHOWN])
        if not shown:
            return "no active product matches"
        links = format_html_join(mark_safe("<br>"), "{}", ((_product_link(p),) for p in shown))
        total = products.count() if len(shown) == TOUCHED_PRODUCTS_SHOWN else len(shown)
        return format_html("{} active product(s):<br>{}", total, links)


def _product_link(product) -> str:
    url = reverse("admin:catalog_product_change", args=[product.pk])
    return format_html('<a href="{}">{} – {}</a>', url, product.sku, product.title)


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    """The gold set: verdicts are given in the preview; here they are listed and corrected."""

    list_display = ["source", "target", "verdict", "category_path", "user", "updated_at"]
    list_filter = ["verdict", "category_path"]
    list_select_related = ["source", "target", "user"]
    search_fields = ["source__sku", "target__sku", "category_path"]
    fields = ["source", "target", "verdict", "category_path", "user", "created_at", "updated_at"]
    readonly_fields = ["source", "target", "category_path", "user", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a pair is judged where it is seen: the preview
