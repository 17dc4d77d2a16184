"""Additive co-occurrence counts: what the incremental refresh keeps, and their differences.

Plain NumPy. `count` gives, for baskets given as (L,) parallel line arrays, each ordered pair's
decayed weight, plain basket count and "recent" basket count (lines inside the why window), and
each item's decayed and plain basket counts. The weights are taken at a fixed reference time
(`decay` without clamp), so they add up: the counts of a whole history equal the counts of its
older baskets plus those of the newer ones, and an increment is `difference(count(after),
count(before))` over just the baskets that changed. A basket is counted as `cooccurrence.fit`
counts it (repeats dropped, baskets over max_basket distinct items skipped).
"""

from dataclasses import dataclass

import numpy as np

from .cooccurrence import MAX_BASKET, decay, group_baskets, ordered_pairs

WEIGHT, BASKETS, RECENT = 0, 1, 2  # the value columns of pairs and items


@dataclass(frozen=True)
class PairCounts:
    """Counts over item indices in [0, n_items).

    keys: (nnz,) int64 row * n_items + col of each ordered pair (both directions, no diagonal),
    ascending; pair_values: (nnz, 3) float64 weight, baskets, recent of each pair;
    item_values: (n_items, 3) float64 weight, baskets, recent of each item; totals: (3,) the
    same over all baskets (N of the scorers in column 0).
    """

    n_items: int
    keys: np.ndarray
    pair_values: np.ndarray
    item_values: np.ndarray
    totals: np.ndarray

    rows = property(lambda self: self.keys // np.int64(self.n_items))
    cols = property(lambda self: self.keys % np.int64(self.n_items))


def _basket_counts(baskets, items, times, n_items, weight_of, max_basket):
    """(pair keys (P,), pair basket weights (P, 2), item values (n_items, 2), totals (2,))."""
    grouped = group_baskets(baskets, items, times, max_basket)
    weights = np.stack([weight_of(grouped.times), np.ones(len(grouped.times))], axis=1)  # (B, 2)
    line_weights = np.repeat(weights, grouped.sizes, axis=0)
    item_values = np.stack(
        [np.bincount(grouped.items, line_weights[:, c], minlength=n_items) for c in range(2)], 1
    )
    left, right = ordered_pairs(grouped.sizes)
    keys = grouped.items[left] * np.int64(n_items) + grouped.items[right]
    return keys, line_weights[left], item_values, weights.sum(axis=0)


def _summed(n_items: int, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `values` (P, c) summed per distinct key: (keys ascending, sums)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.stack(
        [np.bincount(inverse, values[:, c], minlength=len(unique)) for c in range(values.shape[1])],
        axis=1,
    )
    return unique, sums.reshape(len(unique), values.shape[1])


def count(
    baskets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    n_items: int,
    *,
    reference: float,
    half_life_days: float | None,
    window_start: float,
    max_basket: int | None = MAX_BASKET,
) -> PairCounts:
    """Counts of the baskets given as (L,) lines: basket keys, item indices, Unix seconds.

    Weights are 0.5 ** ((reference - basket time) / half_life_days), unclamped; `recent` counts
    each basket's lines at or after window_start (Unix seconds) as a basket of their own, as the
    full refresh always has.
    """
    items = np.asarray(items, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    baskets = np.asarray(baskets)

    def weight_of(basket_times):
        return decay(basket_times, reference, half_life_days, clamp=False)

    keys, values, item_values, totals = _basket_counts(
        baskets, items, times, n_items, weight_of, max_basket
    )
    window = times >= window_start
    recent_keys, recent_values, recent_items, recent_totals = _basket_counts(
        baskets[window], items[window], times[window], n_items, weight_of, max_basket
    )
    all_values = np.zeros((len(keys) + len(recent_keys), 3))
    all_values[: len(keys), :2] = values
    all_values[len(keys) :, RECENT] = recent_values[:, 1]
    pair_keys, pair_values = _summed(n_items, np.concatenate([keys, recent_keys]), all_values)
    item_values = np.concatenate([item_values, recent_items[:, 1:]], axis=1)
    return PairCounts(
        n_items, pair_keys, pair_values, item_values, np.append(totals, recent_totals[1])
    )


def difference(after: PairCounts, before: PairCounts) -> PairCounts:
    """after - before, over the same items; pairs whose three values all cancel are dropped.

    The same baskets summed in another order can leave a rounding residue in the weight: a
    weight difference below 1e-9 of the weights is taken as none when the counts cancel.
    """
    if after.n_items != before.n_items:
        raise ValueError("counts over different items cannot be subtracted")
    keys, values = _summed(
        after.n_items,
        np.concatenate([after.keys, before.keys]),
        np.concatenate([after.pair_values, -before.pair_values]),
    )
    scale = np.zeros(len(keys))
    for side in (after, before):
        at = np.searchsorted(keys, side.keys)
        scale[at] += np.abs(side.pair_values[:, WEIGHT])
    counts_cancel = (values[:, BASKETS] == 0) & (values[:, RECENT] == 0)
    changed = ~(counts_cancel & (np.abs(values[:, WEIGHT]) <= 1e-9 * scale))
    return PairCounts(
        after.n_items,
        keys[changed],
        values[changed],
        after.item_values - before.item_values,
        after.totals - before.totals,
    )


def event_counts(
    items: np.ndarray,
    times: np.ndarray,
    n_items: int,
    *,
    reference: float,
    half_life_days: float | None,
    window_start: float,
) -> np.ndarray:
    """Per item (n_items, 3): decayed weight (at reference, unclamped), events, events at or
    after window_start, of the (L,) events given (trending counts every event, not baskets)."""
    items = np.asarray(items, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    weights = decay(times, reference, half_life_days, clamp=False)
    return np.stack(
        [
            np.bincount(items, weights, minlength=n_items),
            np.bincount(items, minlength=n_items).astype(np.float64),
            np.bincount(items[times >= window_start], minlength=n_items).astype(np.float64),
        ],
        axis=1,
    )
