"""Similarity reads for pages and the API (no TensorFlow: vectors come from PostgreSQL)."""

from dataclasses import dataclass

from catalog import selectors as catalog_selectors
from catalog.models import Product

from . import vector_store
from .models import ModelVersion

OVERFETCH = 2  # inactive products are dropped after the vector query; fetch spare candidates


@dataclass(frozen=True)
class SimilarItem:
    product: Product
    image_similarity: float  # cosine similarity in [-1, 1] (1 - cosine distance)


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def similar_products(
    *, product: Product, k: int = 8, exclude_variant_group: bool = True
) -> list[SimilarItem]:
    """Products that look most like `product` under the active version, most similar first.

    Excludes the product itself and, by default, its other variants (same group_id).
    """
    version = active_version()
    if version is None:
        return []
    vector = vector_store.product_vector(version=version, product_id=product.pk)
    if vector is None:
        return []
    exclude = [product.pk]
    if exclude_variant_group and product.group_id:
        exclude += catalog_selectors.product_ids_in_group(group_id=product.group_id)
    neighbours = vector_store.nearest_products(
        version=version, vector=vector, k=k * OVERFETCH, exclude_product_ids=exclude
    )
    products = catalog_selectors.products_by_ids(ids=[n.product_id for n in neighbours])
    items = [
        SimilarItem(products[n.product_id], 1.0 - n.distance)
        for n in neighbours
        if n.product_id in products
    ]
    return items[:k]
