"""Confidence intervals for click-through rates (plain Python, no Django).

Wilson's score interval for one proportion; Newcombe's hybrid score interval (his method 10)
for the difference of two independent proportions, built from the two Wilson intervals.
Both keep their coverage near 95 % at the small counts and low rates that clicks have, where
the textbook Wald interval p ± z·√(p(1−p)/n) collapses to zero width at 0 clicks.
References: Newcombe, Stat. Med. 17 (1998) 857-872 and 873-890.

The sample ratio check asks whether the arms hold the shares of shoppers the split promised;
when they do not, something other than the assignment decides who is counted, and no interval
can be trusted (Fabijan et al., "Diagnosing sample ratio mismatch in online controlled
experiments", KDD 2019).
"""

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # standard normal quantile for a two-sided 95 % interval
# A mismatch is reported below this p-value: strict, because the check runs on every page view
# of a running experiment, and a false alarm tells the admin to distrust sound figures.
SAMPLE_RATIO_ALPHA = 0.001


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval | None:
    """Wilson score interval for successes/trials; None without trials.

    Bounds lie in [0, 1]; `estimate` is the observed proportion successes/trials.
    """
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, {trials}]; got {successes}")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def difference_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z_95
) -> Interval | None:
    """Newcombe's interval for p_a − p_b (independent samples); None if either has no trials."""
    a = wilson_interval(successes_a, trials_a, z)
    b = wilson_interval(successes_b, trials_b, z)
    if a is None or b is None:
        return None
    d = a.estimate - b.estimate
    below = math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    above = math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, d - below, d + above)


def sample_ratio_p(candidate: int, control: int, candidate_share: float) -> float | None:
    """p-value of Pearson's chi-square test (1 degree of freedom) that `candidate` of the
    candidate + control units landing in the candidate arm is chance, with `candidate_share`
    (0–1) of them due there.

    None where the test cannot speak: a share of 0 or 1 (one arm is empty by design) or an
    expected count under 5 in either arm (the chi-square approximation's usual floor).
    """
    total = candidate + control
    expected = (total * candidate_share, total * (1 - candidate_share))
    if not 0 < candidate_share < 1 or min(expected) < 5:
        return None
    seen = (candidate, control)
    chi2 = sum((o - e) ** 2 / e for o, e in zip(seen, expected, strict=True))
    return math.erfc(math.sqrt(chi2 / 2))  # the chi-square(1) tail: P(|N(0,1)| > √chi2)
