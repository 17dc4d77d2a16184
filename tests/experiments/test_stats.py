"""Wilson and Newcombe intervals against published and hand-computed values."""

import math

import pytest
from scipy import stats as scipy_stats

from experiments.stats import Z_95, difference_interval, sample_ratio_p, wilson_interval


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
    assert sample_ratio_p(3, 4, 0.5) is None  # under 5 shoppers due in each arm
    assert sample_ratio_p(0, 49, 0.1) is None  # 4.9 due in the candidate arm
    assert sample_ratio_p(0, 50, 0.1) == pytest.approx(0.0184, abs=1e-4)  # 5 due, none came
