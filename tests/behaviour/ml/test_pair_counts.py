"""Additive pair counts: equal to cooccurrence.fit, and a history's counts are the sum of its
parts' (what lets the refresh add increments)."""

import numpy as np
import pytest

from behaviour.ml import cooccurrence, pair_counts

DAY = 86_400.0


def lines(rng, baskets: int, items: int = 12):
    sizes = rng.integers(1, 6, baskets)
    keys = np.repeat(np.arange(baskets), sizes)
    return keys, rng.integers(0, items, len(keys)), rng.uniform(0, 40 * DAY, len(keys))


def test_counts_match_cooccurrence_fit():
    rng = np.random.default_rng(3)
    keys, items, times = lines(rng, 60)
    reference = 40 * DAY

    counts = pair_counts.count(
        keys, items, times, 12, reference=reference, half_life_days=10, window_start=30 * DAY
    )

    fitted = cooccurrence.fit(keys, items, times, 12, reference, half_life_days=10)
    plain = cooccurrence.fit(keys, items, times, 12, reference)
    np.testing.assert_array_equal(counts.rows, fitted.rows)
    np.testing.assert_array_equal(counts.cols, fitted.cols)
    np.testing.assert_allclose(counts.pair_values[:, pair_counts.WEIGHT], fitted.counts)
    np.testing.assert_array_equal(counts.pair_values[:, pair_counts.BASKETS], plain.counts)
    np.testing.assert_allclose(counts.item_values[:, pair_counts.WEIGHT], fitted.item_counts)
    assert counts.totals[pair_counts.WEIGHT] == pytest.approx(fitted.n_baskets)


def test_the_counts_of_a_history_are_its_parts_added():
    rng = np.random.default_rng(4)
    keys, items, times = lines(rng, 80)
    older = keys < 50  # whole baskets on either side
    options = {"reference": 20 * DAY, "half_life_days": 7, "window_start": 35 * DAY}

    whole = pair_counts.count(keys, items, times, 12, **options)
    part = pair_counts.count(keys[older], items[older], times[older], 12, **options)
    rest = pair_counts.difference(whole, part)
    newer = pair_counts.count(keys[~older], items[~older], times[~older], 12, **options)

    np.testing.assert_array_equal(rest.keys, newer.keys)
    np.testing.assert_allclose(rest.pair_values, newer.pair_values, atol=1e-12)
    np.testing.assert_allclose(rest.item_values, newer.item_values, atol=1e-12)
    # Unclamped: a basket after the reference weighs more than 1, as it will once rescaled.
    assert whole.pair_values[:, pair_counts.WEIGHT].max() > 1


def test_nothing_changed_leaves_no_pairs():
    rng = np.random.default_rng(5)
    keys, items, times = lines(rng, 30)
    options = {"reference": 0.0, "half_life_days": None, "window_start": 10 * DAY}
    counts = pair_counts.count(keys, items, times, 12, **options)

    assert len(pair_counts.difference(counts, counts).keys) == 0
    assert len(pair_counts.count(keys[:0], items[:0], times[:0], 12, **options).keys) == 0
