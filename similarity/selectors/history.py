"""Recommended for you: a multi-vector query over the shopper's recently viewed products."""

import numpy as np

from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter

from .. import fusion, vector_store
from ..models import ModelVersion
from ..scores import cosine_distance_to_unit
from .serving import serving_state
from .similar import SimilarItem

RECENCY_DECAY = 0.7  # each older view counts 70 % of the next newer one
TIER_HISTORY = "history"


def recommended_for_history(
    *, viewed_ids: list[int], k: int = 8, version: ModelVersion | None = None
) -> list[SimilarItem]:
    """Products like the ones viewed (most recent weighing most), never the viewed ones.

    `version`: the serving version when the caller already has it (default: the active one).
    """
    version = version or serving_state().version
    if version is None or not viewed_ids:
        return []
    vectors = vector_store.product_vectors_for(version=version, product_ids=viewed_ids)
    weighted = [
        RECENCY_DECAY**rank * vectors[pid] for rank, pid in enumerate(viewed_ids) if pid in vectors
    ]
    if not weighted:
        return []
    profile = np.sum(weighted, axis=0)
    norm = float(np.linalg.norm(profile))
    if norm < 1e-6:
        return []
    allowed = catalog_selectors.products_matching(
        product_filter=ProductFilter(exclude_ids=tuple(viewed_ids))
    )
    neighbours = vector_store.nearest_products(
        version=version, vector=profile / norm, k=k, allowed=allowed
    )
    products = catalog_selectors.products_by_ids(ids=[n.product_id for n in neighbours])
    items = []
    for n in neighbours:
        if n.product_id in products:
            score = cosine_distance_to_unit(n.distance)
            breakdown = fusion.Breakdown(
                fused=score,
                scores={**{name: None for name in fusion.SIGNALS}, "image": score},
                weights={"image": 1.0},
                contributions={"image": score},
            )
            items.append(SimilarItem(products[n.product_id], score, breakdown, TIER_HISTORY))
    return items
