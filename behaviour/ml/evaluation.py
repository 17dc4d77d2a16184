"""Offline measure of item-to-item lists against held-out baskets (the online-retail protocol).

Plain NumPy. Bought-together HR@k (/work/shared/data/README.md, "online-retail"): for each test
basket of 2 to max_basket distinct items and each item in it as the query, the share of
(query, other item of that basket) pairs whose other item is in the query's top k.
"""

from dataclasses import dataclass

import numpy as np

from .cooccurrence import MAX_BASKET, group_baskets, ordered_pairs


@dataclass(frozen=True)
class HitRate:
    """Hits and pairs overall and for the pairs whose query is "cold" (per the mask given)."""

    hits: int
    pairs: int
    cold_hits: int = 0
    cold_pairs: int = 0
    baskets: int = 0  # the test baskets scored: 2 to max_basket distinct items

    @property
    def rate(self) -> float:
        return self.hits / self.pairs if self.pairs else float("nan")

    @property
    def cold_share(self) -> float:
        """Share of pairs whose query is cold."""
        return self.cold_pairs / self.pairs if self.pairs else float("nan")

    @property
    def cold_rate(self) -> float:
        return self.cold_hits / self.cold_pairs if self.cold_pairs else float("nan")

    @property
    def warm_rate(self) -> float:
        warm = self.pairs - self.cold_pairs
        return (self.hits - self.cold_hits) / warm if warm else float("nan")


def hit_rate_at_k(
    baskets: np.ndarray,
    items: np.ndarray,
    top: np.ndarray,
    k: int = 10,
    cold: np.ndarray | None = None,
    max_basket: int | None = MAX_BASKET,
) -> HitRate:
    """HR@k of lists top (n_items, >=k) int64 (-1 pads) on test lines (L,) baskets, (L,) items.

    Items are indices into top's rows; repeated (basket, item) lines count once; baskets over
    max_basket distinct items are skipped. cold: (n_items,) bool, e.g. "no training
    co-purchase", to split the pairs by their query.
    """
    grouped = group_baskets(baskets, items, None, max_basket)
    left, right = ordered_pairs(grouped.sizes)
    queries, targets = grouped.items[left], grouped.items[right]
    n_items = np.int64(top.shape[0])
    top = np.asarray(top[:, :k], dtype=np.int64)
    listed = np.flatnonzero(top.ravel() >= 0)
    list_keys = (listed // top.shape[1]) * n_items + top.ravel()[listed]
    hit = np.isin(queries * n_items + targets, list_keys)
    is_cold = np.zeros(len(queries), dtype=bool) if cold is None else np.asarray(cold)[queries]
    return HitRate(
        hits=int(hit.sum()),
        pairs=len(hit),
        cold_hits=int((hit & is_cold).sum()),
        cold_pairs=int(is_cold.sum()),
        baskets=int((grouped.sizes >= 2).sum()),
    )
