"""SKU ↔ id lookups, active or not, deleted products' SKUs included (for events and logs)."""

from collections.abc import Collection

from ..models import DeletedProduct, Product
from ..skus import sku_forms


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
