"""A hand-built catalogue and two versions whose similar lists differ in known ways.

Image vectors are unit vectors whose cosine with their category's source is set by hand; the
fusion weights count the image signal alone, so each list's order follows those cosines:

    source A (Home > Mugs):  v1 top 2 = [B, C]    v2 top 2 = [D, B]
    source F (Fashion > Hats): v1 top 2 = [G, H]  v2 top 2 = [I, G]

Mugs live in vector dimensions 0-1 and hats in 2-3, so a product of the other category has
cosine 0 with a source and ranks after every product of the source's own category.
"""

import math
from decimal import Decimal

import numpy as np

from catalog.models import Category, Product, ProductImage
from similarity import vector_store
from similarity.models import FusionWeights, ModelVersion

MUGS, HATS = "Home > Mugs", "Fashion > Hats"
# product → (category, cosine with its category's source under v1, under v2)
COSINES = {
    "A": (MUGS, 1.0, 1.0),
    "B": (MUGS, 0.9, 0.8),
    "C": (MUGS, 0.8, 0.2),
    "D": (MUGS, 0.3, 0.9),
    "E": (MUGS, 0.2, 0.3),
    "F": (HATS, 1.0, 1.0),
    "G": (HATS, 0.9, 0.8),
    "H": (HATS, 0.7, 0.1),
    "I": (HATS, 0.1, 0.9),
}


def _vector(path: str, cosine: float) -> list[float]:
    first, second = cosine, math.sqrt(max(0.0, 1.0 - cosine**2))
    return [first, second, 0.0, 0.0] if path == MUGS else [0.0, 0.0, first, second]


def _category(path: str) -> Category:
    parent_name, name = path.split(" > ")
    parent, _ = Category.objects.get_or_create(
        path=parent_name, defaults={"name": parent_name, "slug": parent_name.lower()}
    )
    category, _ = Category.objects.get_or_create(
        path=path,
        defaults={"name": name, "parent": parent, "slug": path.lower().replace(" > ", "-")},
    )
    return category


def _version(status: str, products, images, column: int) -> ModelVersion:
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=4, status=status
    )
    vectors = np.array(
        [_vector(COSINES[p.sku][0], COSINES[p.sku][column]) for p in products], dtype=np.float32
    )
    vector_store.image_embeddings_upsert(
        version=version,
        image_ids=[i.pk for i in images],
        shas=[i.sha256 for i in images],
        vectors=vectors,
    )
    vector_store.product_embeddings_refresh(version=version, product_ids=[p.pk for p in products])
    vector_store.hnsw_index_build(version=version)
    return version


def build() -> tuple[dict[str, Product], ModelVersion, ModelVersion]:
    """({sku: product}, v1 active, v2 ready)."""
    FusionWeights.objects.create(image=1.0, text=0.0, text_learned=0.0, attributes=0.0, price=0.0)
    products, images = [], []
    for number, (sku, (path, _, _)) in enumerate(COSINES.items()):
        product = Product.objects.create(
            sku=sku, title=f"Product {sku}", price=Decimal("10.00"), category=_category(path)
        )
        products.append(product)
        images.append(
            ProductImage.objects.create(
                product=product,
                file=f"products/{sku}.jpg",
                sha256=f"{number:064}",
                width=1,
                height=1,
                is_primary=True,
            )
        )
    v1 = _version("active", products, images, 1)
    v2 = _version("ready", products, images, 2)
    return {p.sku: p for p in products}, v1, v2
