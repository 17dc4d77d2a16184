"""Wilson and Newcombe intervals against published and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from experiments.design import impressions_needed, impressions_needed_per_change, sample_ratio_p
from experiments.stats import (
    Z_95,
    ShopperSums,
    ctr_difference_interval,
    ctr_interval,
    design_effect,
    difference_interval,
    effective_shoppers,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe, Stat. Med. 17 (1998) 857-872, table I, method 3 (score interval)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, trials, low, high):
    interval = wilson_interval(successes, trials)
    assert interval.estimate == successes / trials
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_by_hand():
    # 0 of n: centre = half = (z²/2n)/(1 + z²/n), so the upper bound is z²/(n + z²).
    z2 = Z_95**2
    assert wilson_interval(0, 50).high == pytest.approx(z2 / (50 + z2), rel=1e-12)
    # 5 of 10: centre 0.5, half = z·√(0.025 + z²/400)/(1 + z²/10) = 0.2634 → [0.2366, 0.7634]
    interval = wilson_interval(5, 10)
    half = Z_95 * math.sqrt(0.025 + z2 / 400) / (1 + z2 / 10)
    assert (interval.low, interval.high) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-12)
    assert (interval.low, interval.high) == pytest.approx((0.2366, 0.7634), abs=5e-5)


@pytest.mark.parametrize(
    ("a", "b", "estimate", "low", "high"),
    [
        # Newcombe, Stat. Med. 17 (1998) 873-890, table II, method 10
        ((56, 70), (48, 80), 0.2, 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.6, 0.1705, 0.8090),
        ((5, 56), (0, 29), 0.0893, -0.0381, 0.1926),
    ],
)
def test_difference_interval_matches_published_values(a, b, estimate, low, high):
    interval = difference_interval(*a, *b)
    assert interval.estimate == pytest.approx(estimate, abs=5e-5)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_difference_interval_is_antisymmetric():
    forward, backward = difference_interval(30, 400, 12, 380), difference_interval(12, 380, 30, 400)
    assert (forward.low, forward.high) == pytest.approx((-backward.high, -backward.low))


def test_no_trials_no_interval_and_impossible_counts_are_refused():
    assert wilson_interval(0, 0) is None
    assert difference_interval(1, 10, 0, 0) is None
    with pytest.raises(ValueError, match=r"successes must lie in \[0, 3\]; got 4"):
        wilson_interval(4, 3)


@pytest.mark.parametrize(
    ("candidate", "control", "share"),
    [(500, 500, 0.5), (520, 480, 0.5), (100, 300, 0.5), (130, 870, 0.1), (950, 50, 0.9)],
)
def test_sample_ratio_p_is_pearsons_chi_square(candidate, control, share):
    total = candidate + control
    reference = scipy_stats.chisquare([candidate, control], [total * share, total * (1 - share)])
    assert sample_ratio_p(candidate, control, share) == pytest.approx(reference.pvalue, rel=1e-9)


def test_sample_ratio_p_stays_silent_where_the_test_cannot_speak():
    assert sample_ratio_p(0, 40, 0.0) is None  # everyone in control, by design
    assert sample_ratio_p(40, 0, 1.0) is None
    assert sample_ratio_p(15, 24, 0.5) is None  # under 20 shoppers due in each arm
    assert sample_ratio_p(0, 199, 0.1) is None  # 19.9 due in the candidate arm
    # 20 due, none came: chi² = 20 + 20²/180 = 22.2
    assert sample_ratio_p(0, 200, 0.1) == pytest.approx(math.erfc(math.sqrt(200 / 9 / 2)))


def sums_of(impressions: list[int], clicked: list[int]) -> ShopperSums:
    n, c = np.array(impressions), np.array(clicked)
    return ShopperSums(len(n), n.sum(), c.sum(), (n * n).sum(), (c * c).sum(), (n * c).sum())


def test_one_impression_per_shopper_keeps_the_textbook_intervals():
    a = sums_of([1] * 200, [1] * 36 + [0] * 164)
    b = sums_of([1] * 250, [1] * 22 + [0] * 228)

    assert design_effect(a) == design_effect(b) == 1.0
    assert ctr_interval(a) == wilson_interval(36, 200)
    assert ctr_difference_interval(a, b) == difference_interval(36, 200, 22, 250)


def test_shoppers_who_click_all_or_nothing_count_as_one_observation_each():
    # 10 shoppers of 10 impressions each, 5 clicking every one, 5 none: 10 observations, not 100.
    sums = sums_of([10] * 10, [10] * 5 + [0] * 5)

    assert design_effect(sums) == pytest.approx(10.0)
    interval = ctr_interval(sums)
    assert (interval.low, interval.high) == pytest.approx(
        (wilson_interval(5, 10).low, wilson_interval(5, 10).high)
    )


def test_the_design_effect_is_the_delta_methods_variance_over_the_binomial_one():
    rng = np.random.default_rng(7)
    n = rng.integers(1, 30, size=400)
    c = rng.binomial(n, rng.beta(1, 6, size=400))  # each shopper their own click rate
    ctr = c.sum() / n.sum()
    # Linearised ratio: Var(R) ≈ Var(c − R·n) / (m · mean(n)²), plug-in moments.
    delta = np.var(c - ctr * n) / (len(n) * n.mean() ** 2)

    effect = design_effect(sums_of(n.tolist(), c.tolist()))

    assert effect > 1.5  # shoppers differ: wider than independent impressions
    assert effect == pytest.approx(delta / (ctr * (1 - ctr) / n.sum()), rel=1e-9)


def test_impressions_needed_is_the_two_proportion_sample_size():
    # 10 % → 11 %: (1.96 + 0.8416)² × (0.1·0.9 + 0.11·0.89) / 0.01² = 14,749 per arm, the
    # figure the usual calculators print for 80 % power at two-sided 95 %.
    assert impressions_needed(0.10, 0.10) == 14_749
    assert impressions_needed(0.10, 0.10, effect=3.0) == math.ceil(14_748.04 * 3.0)
    assert impressions_needed(0.02, 0.20) < impressions_needed(0.02, 0.05)  # larger is easier
    assert impressions_needed(0.0, 0.10) is None and impressions_needed(0.95, 0.10) is None


def test_without_clicks_to_measure_spread_the_worst_case_is_assumed():
    # 10 shoppers of 100 impressions, none clicked: as informative as 10 impressions, not 1,000.
    sums = sums_of([100] * 10, [0] * 10)

    assert design_effect(sums) == 100.0
    assert ctr_interval(sums) == wilson_interval(0, 10)
    assert wilson_interval(0, 10).low == 0.0 and wilson_interval(10, 10).high == 1.0
    assert design_effect(sums_of([1] * 10, [0] * 10)) == 1.0  # one impression each: textbook


def test_effective_shoppers_count_a_heavy_browser_as_few():
    assert effective_shoppers(sums_of([1] * 300, [0] * 300)) == 300
    # One shopper with 100 impressions beside 100 with one: about 4 shoppers' worth.
    assert effective_shoppers(sums_of([100] + [1] * 100, [0] * 101)) == pytest.approx(
        3.96, abs=0.01
    )


def test_planning_leaves_out_a_change_the_rate_cannot_take():
    high = sums_of([1] * 6, [1] * 5 + [0])  # 5 of 6 clicked: +20 % would pass 100 %

    assert impressions_needed_per_change(high).keys() == {0.05, 0.10}
    assert impressions_needed_per_change(sums_of([1] * 6, [0] * 6)) == {}


def test_a_lone_shopper_counts_as_one_observation_however_many_impressions():
    # One shopper's 100 reloads: no spread between shoppers to measure, so the worst case, as
    # for an arm without clicks; counted as 100 independent impressions it read as certain.
    for clicked in (0, 30, 100):
        sums = sums_of([100], [clicked])

        assert design_effect(sums) == 100.0
        assert ctr_interval(sums) == wilson_interval(clicked / 100, 1)
