"""Diversity of a similar list: near-duplicate collapse (one variant group's look-alike photos
show once) and MMR (maximal marginal relevance) when the query asks for diversity. `scored` is
the fused ranking, (product id, fusion.Breakdown) pairs best first; `facts` the candidates'."""

from collections import Counter

import numpy as np

from .. import vector_store

NEAR_DUPLICATE_COSINE = 0.97  # same group and this close: the same photo in another colour


def diversity_vectors(version, ids, facts, *, diversity: float | None) -> dict[int, np.ndarray]:
    """The vectors MMR and near-duplicate collapse compare, fetched only where they can matter:
    without MMR only candidates that share a variant group with another candidate are compared."""
    if version is None:
        return {}
    ids = [pid for pid in ids if pid in facts]
    if diversity is None:
        groups = Counter(facts[pid].group_id for pid in ids if facts[pid].group_id)
        ids = [pid for pid in ids if groups[facts[pid].group_id] > 1]
    return vector_store.product_vectors_for(version=version, product_ids=ids) if ids else {}


def _cosine(vectors: dict, a: int, b: int) -> float:
    if a not in vectors or b not in vectors:
        return 0.0
    return float(np.dot(vectors[a], vectors[b]))


def diversified(scored, vectors, facts, *, k: int, diversity: float | None):
    """Greedy selection: collapse near-duplicates of one group; MMR when diversity is set.

    Collapsed duplicates come back at the end when nothing else is left, so collapsing never
    returns fewer than k items while k exist.
    """
    remaining, chosen, duplicates = list(scored), [], []
    while remaining and len(chosen) < k:
        if diversity is None:
            best = remaining[0]
        else:
            best = max(
                remaining,
                key=lambda pair: diversity * pair[1].ranked
                - (1 - diversity)
                * max((_cosine(vectors, pair[0], c) for c, _ in chosen), default=0.0),
            )
        remaining.remove(best)
        if _near_duplicate(best[0], chosen, vectors, facts):
            duplicates.append(best)
        else:
            chosen.append(best)
    return chosen + duplicates[: k - len(chosen)]


def _near_duplicate(pid: int, chosen, vectors, facts) -> bool:
    group = facts[pid].group_id
    return bool(group) and any(
        facts[c].group_id == group and _cosine(vectors, pid, c) >= NEAR_DUPLICATE_COSINE
        for c, _ in chosen
    )
