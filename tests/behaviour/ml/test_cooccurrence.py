"""behaviour.ml: co-occurrence counts, decay, scorers, top k, popularity fill and HR@k."""

import itertools
import math

import numpy as np
import pytest

from behaviour.ml import cooccurrence as cooc
from behaviour.ml import scorers
from behaviour.ml.evaluation import hit_rate_at_k
from behaviour.ml.popularity import fill, popularity, ranking

DAY = cooc.SECONDS_PER_DAY


def lines(baskets: list[list[int]], times: list[float] | None = None):
    """(L,) basket keys, items and times of hand-written baskets (basket b at times[b])."""
    keys = [b for b, items in enumerate(baskets) for _ in items]
    items = [i for basket in baskets for i in basket]
    stamps = [0.0 if times is None else times[b] for b in keys]
    return np.array(keys), np.array(items), np.array(stamps)


def dense(co: cooc.Cooccurrence) -> np.ndarray:
    out = np.zeros((co.n_items, co.n_items))
    out[co.rows, co.cols] = co.counts
    return out


def fit(baskets, times=None, now=0.0, n_items=6, **kwargs) -> cooc.Cooccurrence:
    keys, items, stamps = lines(baskets, times)
    return cooc.fit(keys, items, stamps, n_items, now, **kwargs)


def test_counts_equal_a_brute_force_count():
    rng = np.random.default_rng(7)
    baskets = [list(rng.integers(0, 12, size=rng.integers(1, 7))) for _ in range(60)]
    expected = np.zeros((12, 12))
    for basket in baskets:
        for i, j in itertools.permutations(set(basket), 2):
            expected[i, j] += 1
    co = fit(baskets, n_items=12)
    np.testing.assert_array_equal(dense(co), expected)
    assert np.all(co.counts > 0) and np.all(co.rows != co.cols)
    assert np.all(np.diff(co.rows * 12 + co.cols) > 0)  # sorted by (row, col), no repeats
    item_counts = [sum(i in set(b) for b in baskets) for i in range(12)]
    np.testing.assert_array_equal(co.item_counts, item_counts)
    assert co.n_baskets == 60


def test_no_lines_give_empty_counts():
    empty = np.zeros(0, dtype=np.int64)
    co = cooc.fit(empty, empty, np.zeros(0), 3, now=0.0, half_life_days=30)
    assert len(co.counts) == 0 and co.n_baskets == 0
    np.testing.assert_array_equal(co.item_counts, [0, 0, 0])
    top, _ = scorers.top_k(co.rows, co.cols, scorers.score(co, "llr"), 3, k=2)
    np.testing.assert_array_equal(top, -np.ones((3, 2)))


def test_repeated_lines_count_once_per_basket():
    co = fit([[0, 1, 1, 0], [1, 2]])
    assert dense(co)[0, 1] == 1 and dense(co)[1, 2] == 1
    np.testing.assert_array_equal(co.item_counts[:3], [1, 2, 1])


def test_decay_halves_a_basket_at_one_half_life():
    now = 100 * DAY
    co = fit([[0, 1], [0, 1]], times=[now, now - 30 * DAY], now=now, half_life_days=30)
    assert dense(co)[0, 1] == pytest.approx(1.5)
    assert co.item_counts[0] == pytest.approx(1.5)
    assert co.n_baskets == pytest.approx(1.5)
    two_half_lives = fit([[0, 1]], times=[now - 60 * DAY], now=now, half_life_days=30)
    assert two_half_lives.counts[0] == pytest.approx(0.25)
    no_decay = fit([[0, 1]], times=[0.0], now=now, half_life_days=None)
    assert no_decay.counts[0] == 1.0


def test_a_basket_is_as_old_as_its_latest_line():
    keys, items = np.array([0, 0]), np.array([0, 1])
    co = cooc.fit(keys, items, np.array([-10 * DAY, 0.0]), 2, now=0.0, half_life_days=10)
    assert co.counts[0] == 1.0


def test_baskets_over_max_size_are_skipped():
    co = fit([[0, 1, 2], [0, 1]], max_basket=2)
    assert dense(co)[0, 1] == 1 and dense(co)[0, 2] == 0 and dense(co)[1, 2] == 0
    np.testing.assert_array_equal(co.item_counts[:3], [1, 1, 0])
    assert co.n_baskets == 1


# Pair (0, 1): both in 2 baskets, 0 alone in 1, 1 alone in 1, neither in 2 -> C=2, n=3, 3, N=6.
TWO_BY_TWO = [[0, 1], [0, 1], [0], [1], [2], [2]]


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("raw", {}, 2.0),
        ("cosine", {}, 2 / 3),
        ("shrunk_cosine", {"shrink": 1.0}, 2 / 3 * 2 / 3),
        ("jaccard", {}, 2 / 4),
        ("conditional", {"beta": 0.0}, 2 / 3),
        ("conditional", {"beta": 0.5}, 2 / 3 / math.sqrt(3)),
        ("lift", {"min_support": 2.0}, 2 * 6 / 9),
        ("lift", {"min_support": 3.0}, -math.inf),
        # G² = 2 Σ k ln(k/E), every expected count E = 1.5: 8 ln(4/3) + 4 ln(2/3).
        ("llr", {}, 0.6795961),
    ],
)
def test_scorer_on_a_two_by_two_table(method, params, expected):
    co = fit(TWO_BY_TWO)
    pair = np.flatnonzero((co.rows == 0) & (co.cols == 1))[0]
    assert scorers.score(co, method, **params)[pair] == pytest.approx(expected, rel=1e-6)


def test_llr_of_a_perfect_pair_and_of_a_negative_association():
    co = fit([[0, 1], [2]])  # table (1, 0, 0, 1): G² = 2 * 2 * ln 2
    assert scorers.score(co, "llr")[0] == pytest.approx(4 * math.log(2))
    co = fit([[0, 1], [0], [0], [1], [1]])  # C=1 below expected 3*3/5: not recommended
    assert scorers.score(co, "llr")[0] == -math.inf


def test_unknown_scorer_is_refused():
    with pytest.raises(ValueError, match="unknown scorer"):
        scorers.score(fit([[0, 1]]), "pmi")


def test_top_k_orders_by_score_then_tie_break_then_index():
    rows = np.array([0, 0, 0, 0, 0, 1, 2])
    cols = np.array([4, 3, 2, 1, 5, 0, 0])
    scores = np.array([1.0, 2.0, 2.0, 2.0, np.nan, -np.inf, 0.5])
    top, top_scores = scorers.top_k(rows, cols, scores, 6, k=3)
    np.testing.assert_array_equal(top[0], [1, 2, 3])  # ties by index ascending
    np.testing.assert_array_equal(top[1], [-1, -1, -1])  # non-finite scores dropped
    np.testing.assert_array_equal(top[2], [0, -1, -1])
    np.testing.assert_array_equal(top_scores[0], [2.0, 2.0, 2.0])
    assert np.isnan(top_scores[2, 1])
    tie_break = np.array([0, 1, 9, 5, 0, 0])  # e.g. popularity
    top, _ = scorers.top_k(rows, cols, scores, 6, k=4, tie_break=tie_break)
    np.testing.assert_array_equal(top[0], [2, 3, 1, 4])


def test_popularity_decays_and_fill_skips_self_and_listed_items():
    keys, items, stamps = lines([[0, 1], [1, 1], [2]], times=[0.0, 0.0, -10 * DAY])
    counts = popularity(keys, items, stamps, 4, now=0.0, half_life_days=10)
    np.testing.assert_allclose(counts, [1.0, 2.0, 0.5, 0.0])
    np.testing.assert_array_equal(ranking(counts), [1, 0, 2, 3])
    top = np.array([[2, -1, -1], [-1, -1, -1], [1, 0, 3], [-1, -1, -1]])
    np.testing.assert_array_equal(
        fill(top, ranking(counts)), [[2, 1, 3], [0, 2, 3], [1, 0, 3], [1, 0, 2]]
    )


def test_sessions_split_a_visitor_at_idle_gaps():
    visitors = np.array([7, 7, 7, 3, 7])
    times = np.array([0.0, 100.0, 5000.0, 50.0, 5100.0])
    np.testing.assert_array_equal(cooc.sessions(visitors, times, 1800), [1, 1, 2, 0, 2])


def test_hit_rate_counts_ordered_pairs_of_each_test_basket():
    top = np.array([[1, 2], [3, -1], [-1, -1], [0, 1]])
    keys = np.array([0, 0, 0, 0, 1, 1, 2, 3, 3, 3])
    items = np.array([0, 1, 2, 2, 1, 3, 0, 0, 1, 2])
    # basket 0 {0,1,2}: 0->1 hit, 0->2 hit, 1->0, 1->2, 2->0, 2->1 miss; basket 1 {1,3}: 1->3
    # hit, 3->1 hit; basket 2 has one item; basket 3 is over max_basket=2 and skipped.
    cold = np.array([False, False, True, False])
    result = hit_rate_at_k(keys[:7], items[:7], top, k=2, cold=cold)
    assert (result.hits, result.pairs) == (4, 8)
    assert (result.cold_hits, result.cold_pairs) == (0, 2)
    assert result.rate == 0.5 and result.cold_share == 0.25 and result.warm_rate == 4 / 6
    skipped = hit_rate_at_k(keys, items, top, k=2, cold=cold, max_basket=2)
    assert (skipped.hits, skipped.pairs) == (2, 2)
    assert hit_rate_at_k(keys[:7], items[:7], top, k=1).hits == 2  # 0->1 and 1->3
