"""Tune the global fusion weights on the active version's validation products.

Each candidate weighting ranks the similar items of every validation product; the objective is
precision@10 of same-category items (what a shopper browsing a product expects), with the
same-group Recall@10 as tie-break. Test products are never used here, so the held-out figures in
docs/BENCHMARKS.md stay honest.
"""

import itertools
from dataclasses import asdict

from catalog.models import Product, ProductImage

from .. import fusion
from ..models import FusionWeights, ModelVersion
from ..selectors import similar_products

K = 10
GRID = {  # coarse on purpose: a few dozen weightings, each over all validation products
    "image": (0.2, 0.4, 0.6, 0.8),
    "text": (0.1, 0.3),
    "text_learned": (0.0, 0.2),
    "attributes": (0.05, 0.2),
    "price": (0.05,),
}


def split_products(version: ModelVersion, split: str) -> list[Product]:
    image_ids = version.dataset.get(f"{split}_image_ids", [])
    product_ids = set(
        ProductImage.objects.filter(pk__in=image_ids).values_list("product_id", flat=True)
    )
    return list(
        Product.objects.filter(pk__in=product_ids, is_active=True).select_related("category")
    )


def fusion_evaluate(*, products: list[Product], weights: fusion.Weights | None) -> dict:
    """Mean same-category P@10 (over the products with a category: for one without, "same
    category" would be every other uncategorised item) and same-group R@10 of the fused ranking."""
    precision, with_category, group_hits, with_group = 0.0, 0, 0, 0
    for product in products:
        items = similar_products(product=product, k=K, exclude_variant_group=False, weights=weights)
        if product.category_id is not None:
            with_category += 1
            precision += sum(item.product.category_id == product.category_id for item in items) / K
        if product.group_id:
            with_group += 1
            group_hits += any(item.product.group_id == product.group_id for item in items)
    return {
        "category_precision_at_10": precision / max(with_category, 1),
        "group_recall_at_10": group_hits / with_group if with_group else None,
        "queries": with_category,
    }


ERROR_NO_VALIDATION = (
    "v{pk} has no active validation products with a category to tune on (the objective is "
    "same-category precision); the fusion weights were not changed"
)
ERROR_ALL_TIED = (
    "every weighting scores the same on v{pk}'s {count} validation products: nothing to choose "
    "by; the fusion weights were not changed"
)


class NothingToTuneOn(ValueError):
    """No validation product to score a weighting on, or nothing tells the weightings apart:
    storing the grid's first row would overwrite the shop's weights for no gain."""


def _objective(row: dict) -> tuple[float, float]:
    return row["category_precision_at_10"], row["group_recall_at_10"] or 0.0


def fusion_tune(*, version: ModelVersion, save: bool = True) -> tuple[fusion.Weights, list[dict]]:
    """Grid-search the weights on categorised validation products; store the best as the global
    row. Raises NothingToTuneOn (nothing stored) when there is no such product or when every
    weighting ties."""
    products = [product for product in split_products(version, "val") if product.category_id]
    if not products:
        raise NothingToTuneOn(ERROR_NO_VALIDATION.format(pk=version.pk))
    table = []
    for values in itertools.product(*GRID.values()):
        weights = fusion.Weights(**dict(zip(GRID, values, strict=True)))
        table.append(
            {"weights": asdict(weights), **fusion_evaluate(products=products, weights=weights)}
        )
    if len({_objective(row) for row in table}) == 1:
        raise NothingToTuneOn(ERROR_ALL_TIED.format(pk=version.pk, count=len(products)))
    best = max(table, key=_objective)
    weights = fusion.Weights(**best["weights"])
    if save:
        FusionWeights.objects.update_or_create(category=None, defaults=asdict(weights))
    return weights, table
