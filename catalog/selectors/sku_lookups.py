"""SKU ↔ id lookups, active or not, deleted products' SKUs included (for events and logs),
and the active products a search box's query names by SKU."""

from collections.abc import Collection

from django.db.models import Q

from ..models import Category, DeletedProduct, Product
from ..skus import sku_forms
from .filters import ProductFilter, products_matching


def product_sku_stored(*, sku: str) -> str | None:
    """The SKU as stored of the product `sku` names (active or not), or None: the exact
    spelling, else its NFC form (see sku_forms)."""
    forms = sku_forms(sku)
    stored = set(Product.objects.filter(sku__in=forms).values_list("sku", flat=True))
    return next((form for form in forms if form in stored), None)


def product_ids_for_skus(*, skus: list[str]) -> list[int]:
    return list(set(product_ids_by_sku(skus=skus).values()))


def product_ids_by_sku(*, skus: list[str]) -> dict[str, int]:
    """SKU as given → id of the products that exist (active or not); unknown SKUs are left out.
    Each SKU matches its exact spelling, else its NFC form (see sku_forms)."""
    forms = {sku: sku_forms(sku) for sku in skus}
    wanted = {form for spellings in forms.values() for form in spellings}
    found = dict(Product.objects.filter(sku__in=wanted).values_list("sku", "pk"))
    ids = {}
    for sku, spellings in forms.items():
        matches = [found[form] for form in spellings if form in found]
        if matches:
            ids[sku] = matches[0]
    return ids


def product_skus(*, ids: list[int]) -> list[str]:
    return list(Product.objects.filter(pk__in=ids).values_list("sku", flat=True))


def product_skus_by_id(*, ids: Collection[int]) -> dict[int, str]:
    """Id → SKU of these products, those deleted since included (the SKU they had)."""
    wanted = set(ids)
    skus = dict(
        DeletedProduct.objects.filter(product_id__in=wanted).values_list("product_id", "sku")
    )
    skus.update(Product.objects.filter(pk__in=wanted).values_list("pk", "sku"))
    return skus


def product_ids_with_sku(*, sku: str, category: Category | None = None) -> list[int]:
    """Ids of the active products (within a category subtree) whose SKU is `sku` in any case:
    its spelling as given or its NFC form (sku_forms), the same spelling first."""
    forms = sku_forms(sku)
    same = Q()
    for form in forms:
        same |= Q(sku__iexact=form)
    paths = (category.path,) if category is not None else ()
    active = products_matching(product_filter=ProductFilter(category_paths=paths))
    found = dict(active.filter(same).values_list("sku", "pk"))

    def likeness(stored: str) -> tuple[int, str]:
        return (forms.index(stored) if stored in forms else len(forms), stored)

    return [found[stored] for stored in sorted(found, key=likeness)]


def product_sku_not_matching(*, regex: str) -> str | None:
    """The SKU of a product (withdrawn ones too) that `regex` does not match, or None."""
    return Product.objects.exclude(sku__regex=regex).values_list("sku", flat=True).first()
