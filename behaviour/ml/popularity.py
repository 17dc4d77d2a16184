"""Decayed popularity ("trending") and the fill of short item-to-item lists.

Plain NumPy. Popularity is the decayed number of baskets holding an item, the same n_i the
co-occurrence counts carry; it ranks the fallback for items with fewer than k partners (a
product nobody bought with anything yet, or a rare one) and breaks ties between equal scores.
"""

import numpy as np

from .cooccurrence import MAX_BASKET, decay, group_baskets


def popularity(
    baskets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    n_items: int,
    now: float,
    half_life_days: float | None = None,
    max_basket: int | None = MAX_BASKET,
) -> np.ndarray:
    """Decayed basket count (n_items,) float64 of each item from (L,) parallel line arrays.

    An item counts once per basket, weighted 0.5 ** (age_days / half_life_days) by the basket's
    latest line; baskets over max_basket distinct items are skipped, as in `cooccurrence.fit`.
    """
    grouped = group_baskets(baskets, items, times, max_basket)
    weights = np.repeat(decay(grouped.times, now, half_life_days), grouped.sizes)
    return np.bincount(grouped.items, weights=weights, minlength=n_items)


def trending(
    baskets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    n_items: int,
    now: float,
    half_life_days: float,
    parts: list[tuple[np.ndarray, float]],
) -> np.ndarray:
    """Trending as the refresh writes it: per (lines mask, share) part, e.g. the purchases at 1
    and the views at a tenth, that part's decayed basket count times its share, summed."""
    out = np.zeros(n_items)
    for lines, share in parts:
        if share and lines.any():
            out += share * popularity(
                baskets[lines], items[lines], times[lines], n_items, now, half_life_days
            )
    return out


def ranking(counts: np.ndarray) -> np.ndarray:
    """Item indices (n_items,) by count descending, ties by index ascending."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.lexsort((np.arange(len(counts)), -counts))


def fill(top: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Fill the -1 tail of each row of top (n_items, k) from ranked (m,) item indices.

    Row q takes the first ranked items that are neither q nor already in its row; an item's
    own list never holds itself. Returns a new (n_items, k) int64 array; rows stay -1-padded
    only when ranked runs out.
    """
    n_items, k = top.shape
    candidates = np.asarray(ranked, dtype=np.int64)[: 2 * k + 1]  # k taken + self + k needed
    taken = (top[:, :, None] == candidates[None, None, :]).any(axis=1)  # (n_items, m)
    allowed = ~taken & (candidates[None, :] != np.arange(n_items)[:, None])
    filled = (top >= 0).sum(axis=1)  # (n_items,) lists are -1-padded at the tail
    slot = filled[:, None] + np.cumsum(allowed, axis=1) - 1  # where each allowed one would go
    use = allowed & (slot < k)
    out = top.copy()
    row_index = np.broadcast_to(np.arange(n_items)[:, None], use.shape)
    out[row_index[use], slot[use]] = np.broadcast_to(candidates, use.shape)[use]
    return out
