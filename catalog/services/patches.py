"""Partial updates of existing products: the fields given change, the others keep their values
(a stock and price feed sends `in_stock` and `price` alone, as Algolia's partial updates and
Vertex AI's inventory updates take them).

Each patch runs through `product_upsert`, so a patch writes exactly what a PUT with the merged
values would (change detection, withdrawal and sell-out flips, images kept). The product's row
is locked before its values are read, so two patches of one product never lose each other's
fields. A batch announces its changes once at the end, as an import does: a feed selling out a
thousand products drops the cached in-stock lists once, not a thousand times.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction

from .. import changes
from ..importers import ProductRow
from ..models import Category, Product
from .products import PRODUCT_FIELDS, UpsertOutcome, UpsertResult, product_upsert

# The API's names of the fields a patch may change → ProductRow's: the model's own names, but
# `active` (is_active) and `category` (its path).
API_NAMES = {"is_active": "active"}
ROW_FIELDS = {API_NAMES.get(name, name): name for name in PRODUCT_FIELDS}
ROW_FIELDS["category"] = "category_path"
PATCHABLE = tuple(ROW_FIELDS)


class ProductNotFound(Exception):
    """No product (active or not) with this SKU: a patch changes a product, it never makes one."""


def product_patch(*, sku: str, values: Mapping) -> UpsertResult:
    """Apply `values` (API field names, validated) to the stored product `sku` and announce the
    change. ProductNotFound when there is none."""
    return _patched(sku, values, notify=True, categories=None)


@dataclass
class PatchBatch:
    """Collects a batch's changes, announced once by `announce` (and only what committed)."""

    changed: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    sold_out: list[int] = field(default_factory=list)
    categories: dict[str, Category] = field(default_factory=dict)  # by path, looked up once

    def apply(self, *, sku: str, values: Mapping) -> UpsertResult:
        result = _patched(sku, values, notify=False, categories=self.categories)
        if result.outcome != UpsertOutcome.UNCHANGED:
            self.changed.append(result.product_id)
        if result.withdrawn:
            self.withdrawn.append(result.product_id)
        if result.sold_out:
            self.sold_out.append(result.product_id)
        return result

    def announce(self) -> None:
        if self.changed:
            changes.products_changed(product_ids=self.changed, images_changed=False)
        if self.withdrawn:
            changes.products_withdrawn(product_ids=self.withdrawn)
        if self.sold_out:
            changes.products_sold_out(product_ids=self.sold_out)


def _patched(
    sku: str, values: Mapping, *, notify: bool, categories: dict[str, Category] | None
) -> UpsertResult:
    with transaction.atomic():
        # The product alone: a join would hand back the category row as it was before a
        # concurrent writer's commit, which the lock waited for (READ COMMITTED re-reads only
        # the locked row).
        product = Product.objects.select_for_update().filter(sku=sku).first()
        if product is None:
            raise ProductNotFound(sku)
        row = _merged_row(product, values)
        return product_upsert(row=row, images=None, notify=notify, categories=categories)


def _merged_row(product: Product, values: Mapping) -> ProductRow:
    """The product as stored, with the patch's values over it (a row as the PUT writes one)."""
    paths = Category.objects.filter(pk=product.category_id).values_list("path", flat=True)
    stored = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    stored["category_path"] = (paths.first() or "") if product.category_id else ""
    given = {ROW_FIELDS[name]: value for name, value in values.items() if name in ROW_FIELDS}
    if "tags" in given:  # repeats dropped as a PUT drops them; stored tags are kept as they are
        given["tags"] = list(dict.fromkeys(given["tags"]))
    return ProductRow(line=0, sku=product.sku, **{**stored, **given})
