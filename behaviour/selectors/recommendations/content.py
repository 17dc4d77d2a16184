"""The content signal of a personal recommendation: the products nearest, in the serving image
model's space, to the weighted mean of the visitor's products, each explained by the one of
theirs it is nearest to."""

import math

import numpy as np

from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter
from similarity import vector_store
from similarity.models import ModelVersion

from .history import VisitorHistory
from .signals import Signal, strongest


def content_signal(
    history: VisitorHistory, *, version: ModelVersion | None, product_filter: ProductFilter, n: int
) -> Signal:
    """The n products nearest to the visitor's weighted mean image vector under `version` (the
    serving image model, None without one), within the filters."""
    sources = strongest(history)
    if version is None or not sources:
        return Signal()
    vectors = vector_store.product_vectors_for(version=version, product_ids=list(sources))
    if not vectors:
        return Signal()
    profile = np.sum([sources[pid] * vector for pid, vector in vectors.items()], axis=0)
    norm = float(np.linalg.norm(profile))
    if norm < 1e-6:
        return Signal()
    # Without narrowing filters the plain index walk is cheaper than a filtered one: ask for as
    # many more as the filter excludes and leave the check to the fusion's one filter query.
    narrowing = product_filter.is_narrowing
    neighbours = vector_store.nearest_products(
        version=version,
        vector=profile / norm,
        k=n if narrowing else n + len(product_filter.exclude_ids),
        allowed=(
            catalog_selectors.products_matching(product_filter=product_filter)
            if narrowing
            else None
        ),
    )
    candidates = [neighbour.product_id for neighbour in neighbours]
    in_order = {pid: vectors[pid] for pid in sources if pid in vectors}  # strongest first
    because = _nearest_sources(version, candidates, in_order)
    signal = Signal()
    for neighbour in neighbours:
        # The cosine, negatives as 0, as the hybrid's tuning scores content (ml.sequence
        # signals): on another scale the same tuned weight would mean another thing.
        score = max(1.0 - neighbour.distance, 0.0)
        if math.isfinite(neighbour.distance):  # NaN: a vector without direction (none written)
            signal.add(neighbour.product_id, score, because[neighbour.product_id])
    return signal


def _nearest_sources(
    version: ModelVersion, candidates: list[int], sources: dict[int, np.ndarray]
) -> dict[int, int]:
    """Each candidate's "because": the visitor's product (`sources`, strongest first) nearest to
    it in image space. The
    search ran from their weighted mean, so naming the strongest product would give one reason
    (often the newest view, a t-shirt) to every item, mugs included."""
    ids = list(sources)
    if len(ids) == 1:
        return dict.fromkeys(candidates, ids[0])
    found = vector_store.product_vectors_for(version=version, product_ids=candidates)
    matrix = np.stack([sources[pid] for pid in ids])
    # A candidate without a stored vector (deleted meanwhile): the strongest source.
    return {
        pid: ids[int(np.argmax(matrix @ found[pid]))] if pid in found else ids[0]
        for pid in candidates
    }
