"""Decayed item co-occurrence: "bought together" (same order) and "also viewed" (same session).

Plain NumPy, sparse by construction: only pairs that occur are stored, as parallel arrays sorted
by (row, col) with both triangles and no diagonal, so memory grows with the pairs seen, not with
n_items². A basket is any set of items: an order (bought together) or a visitor's session
(also viewed, see `sessions`). Each basket is weighted by its age, 0.5 ** (age_days / half_life),
so it counts once when new and half after one half-life; half_life None means no decay.
`scorers.score` turns the counts into one association score per pair (by scorer name), `top_k`
keeps each item's best k; `behaviour.ml.popularity` fills short lists.
"""

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86_400.0
MAX_BASKET = 100  # orders with more distinct products are wholesale or stock moves, not baskets
# Chosen on the online-retail validation split (learn to 2011-04, test 2011-05/06): raw counts
# beat every normalised scorer (cosine, jaccard, llr, lift, shrunk cosine, popularity-damped
# conditional) at every half-life, because HR@k rewards partners that will often be bought
# with the item, which is what C_ij estimates. Half-lives 60-180 days form a plateau just above
# no decay; 90 sits in its middle (and weekly refits gain most from 30-90).
DEFAULT_SCORER = "raw"
DEFAULT_HALF_LIFE_DAYS = 90.0


@dataclass(frozen=True)
class Baskets:
    """Lines grouped by basket: (basket, item) deduplicated, sorted by basket then item.

    items: (L,) item index of each line; starts, sizes: (B,) first line and line count of each
    basket; times: (B,) each basket's time (its latest line), Unix seconds.
    """

    items: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    times: np.ndarray


@dataclass(frozen=True)
class Cooccurrence:
    """Decayed co-occurrence counts.

    rows, cols: (nnz,) int64 item indices, sorted by (row, col), both (i, j) and (j, i), i != j;
    counts: (nnz,) float64 C_ij > 0, decayed number of baskets holding both items;
    item_counts: (n_items,) n_i, decayed number of baskets holding item i;
    n_baskets: N, decayed number of baskets counted (those of 1 to max_basket items).
    """

    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    item_counts: np.ndarray
    n_baskets: float

    @property
    def n_items(self) -> int:
        return len(self.item_counts)


def group_baskets(
    baskets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray | None = None,
    max_basket: int | None = MAX_BASKET,
) -> Baskets:
    """Group (L,) parallel line arrays into baskets, dropping repeats and baskets over max_basket.

    baskets: basket key of each line (order id, session id: any integers); items: item index;
    times: Unix seconds (zeros when None).
    """
    baskets, items = np.asarray(baskets), np.asarray(items, dtype=np.int64)
    times = np.zeros(len(items)) if times is None else np.asarray(times, dtype=np.float64)
    order = np.lexsort((items, baskets))
    baskets, items, times = baskets[order], items[order], times[order]
    new_basket = np.ones(len(items), dtype=bool)
    new_basket[1:] = baskets[1:] != baskets[:-1]
    starts = np.flatnonzero(new_basket)
    basket_times = np.maximum.reduceat(times, starts) if len(starts) else times[:0]
    new_line = new_basket.copy()
    new_line[1:] |= items[1:] != items[:-1]
    basket_of_line = np.cumsum(new_basket)[new_line] - 1
    items = items[new_line]
    sizes = np.bincount(basket_of_line, minlength=len(starts))
    if max_basket is not None:
        kept = sizes <= max_basket
        items, sizes, basket_times = items[kept[basket_of_line]], sizes[kept], basket_times[kept]
    starts = np.cumsum(sizes) - sizes
    return Baskets(items=items, starts=starts, sizes=sizes, times=basket_times)


def ordered_pairs(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line positions (P,), (P,) of every ordered pair of distinct lines within each basket.

    sizes: (B,) line counts of consecutive baskets; P = sum(sizes * (sizes - 1)).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    line_size = np.repeat(sizes, sizes)  # (L,) size of each line's basket
    line_start = np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(line_size)), line_size)
    group_start = np.repeat(np.cumsum(line_size) - line_size, line_size)
    right = np.repeat(line_start, line_size) + (np.arange(len(left)) - group_start)
    distinct = left != right
    return left[distinct], right[distinct]


def decay(
    times: np.ndarray, now: float, half_life_days: float | None, clamp: bool = True
) -> np.ndarray:
    """Weights 0.5 ** (age_days / half_life_days), (n,); None: ones.

    With clamp, ages below 0 count as 0 (weights <= 1). Without it a time after `now` weighs more
    than 1, which is what counts kept at a fixed reference time need: a weight then stays the same
    number however late it is summed, and 2 ** ((now - reference) / half-life) rescales them all.
    """
    times = np.asarray(times, dtype=np.float64)
    if half_life_days is None or np.isinf(half_life_days):
        return np.ones_like(times)
    age_days = (now - times) / SECONDS_PER_DAY
    if clamp:
        age_days = np.maximum(age_days, 0.0)
    return 0.5 ** (age_days / half_life_days)


def fit(
    baskets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    n_items: int,
    now: float,
    half_life_days: float | None = None,
    max_basket: int | None = MAX_BASKET,
    clamp: bool = True,
) -> Cooccurrence:
    """Count co-occurrences of items in the baskets given as (L,) parallel line arrays.

    baskets: basket key of each line; items: item index in [0, n_items); times: Unix seconds
    (a basket's age is taken from its latest line); now: Unix seconds the ages are measured to
    (clamp: see `decay`). Baskets over max_basket distinct items are skipped entirely (also from
    n_i and N).
    """
    grouped = group_baskets(baskets, items, times, max_basket)
    weights = decay(grouped.times, now, half_life_days, clamp)  # (B,)
    line_weights = np.repeat(weights, grouped.sizes)
    item_counts = np.bincount(grouped.items, weights=line_weights, minlength=n_items)
    left, right = ordered_pairs(grouped.sizes)
    upper = left < right  # items ascend within a basket, so item[left] < item[right]
    left, right = left[upper], right[upper]
    keys = grouped.items[left] * np.int64(n_items) + grouped.items[right]
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, weights=line_weights[left], minlength=len(unique_keys))
    low, high = np.divmod(unique_keys, np.int64(n_items))
    rows, cols = np.concatenate([low, high]), np.concatenate([high, low])
    counts = np.concatenate([counts, counts])
    order = np.lexsort((cols, rows))
    return Cooccurrence(
        rows=rows[order],
        cols=cols[order],
        counts=counts[order],
        item_counts=item_counts,
        n_baskets=float(weights.sum()),
    )


def sessions(visitors: np.ndarray, times: np.ndarray, gap_seconds: float) -> np.ndarray:
    """Session key (L,) of each event: a visitor's events split wherever gap_seconds pass idle.

    visitors: (L,) integer visitor keys; times: (L,) Unix seconds. Keys are 0..S-1 in order of
    (visitor, first event time); feed them to `fit` as baskets for "also viewed".
    """
    visitors, times = np.asarray(visitors), np.asarray(times, dtype=np.float64)
    order = np.lexsort((times, visitors))
    v, t = visitors[order], times[order]
    new = np.ones(len(v), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (t[1:] - t[:-1] > gap_seconds)
    keys = np.empty(len(v), dtype=np.int64)
    keys[order] = np.cumsum(new) - 1
    return keys
