"""A database check `migrate` runs: products stored before a SKU rule that URLs need.

Earlier releases accepted SKUs holding "/" or being "." or ".."; no URL can name such a product
(catalog.skus), so its storefront link falls back to a search for it. `migrate` lists them once
per upgrade, so the shop can rename them in the admin.
"""

from django.core import checks
from django.db import DatabaseError
from django.db.models import Q

from .skus import DOT_SEGMENTS

WARNING_UNLINKABLE = (
    '{count} product(s) have a SKU no URL can name (it holds "/" or is "." or ".."), '
    "e.g. {examples}: their pages cannot be opened"
)
HINT_UNLINKABLE = "Rename them in the admin (Catalogue → Products) or by re-importing them."
SHOWN = 5


def unlinkable_skus() -> list[str]:
    from .models import Product

    rows = Product.objects.filter(Q(sku__contains="/") | Q(sku__in=DOT_SEGMENTS))
    return list(rows.order_by("sku").values_list("sku", flat=True))


@checks.register(checks.Tags.database)
def check_unlinkable_skus(app_configs=None, databases=None, **kwargs) -> list:
    if "default" not in (databases or []):
        return []
    try:
        skus = unlinkable_skus()
    except DatabaseError:  # before the first migration: no product table yet
        return []
    if not skus:
        return []
    examples = ", ".join(map(repr, skus[:SHOWN])) + (", …" if len(skus) > SHOWN else "")
    message = WARNING_UNLINKABLE.format(count=len(skus), examples=examples)
    return [checks.Warning(message, hint=HINT_UNLINKABLE, id="prodsim.W010")]
