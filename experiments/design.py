"""An experiment's design checks (plain Python, no Django): whether the arms hold the shares of
shoppers the split promised, and how many impressions each arm needs to detect a change.

The sample ratio check: when the arms do not hold their shares, something other than the
assignment decides who is counted, and no interval can be trusted (Fabijan et al.,
"Diagnosing sample ratio mismatch in online controlled experiments", KDD 2019).
"""

import math

from .stats import Z_95, ShopperSums, design_effect

Z_POWER_80 = 0.8416212335729143  # the one-sided quantile for 80 % power
# Relative changes of the control's CTR an experiment page plans for (how many impressions each
# arm needs to detect them): small, usual and large effects of a recommendations widget.
PLANNED_CHANGES = (0.05, 0.10, 0.20)
# A mismatch is reported below this p-value: strict, because the check runs on every page view
# of a running experiment, and a false alarm tells the admin to distrust sound figures.
SAMPLE_RATIO_ALPHA = 0.001
# Shoppers due in each arm before the check speaks: the textbook floor of 5 let the chi-square
# approximation raise false alarms at 2-3 times the alpha under 200 shoppers at a 10 % share.
SAMPLE_RATIO_MIN_DUE = 20


def sample_ratio_p(candidate: int, control: int, candidate_share: float) -> float | None:
    """p-value of Pearson's chi-square test (1 degree of freedom) that `candidate` of the
    candidate + control units landing in the candidate arm is chance, with `candidate_share`
    (0–1) of them due there.

    None where the test cannot speak: a share of 0 or 1 (one arm is empty by design) or an
    expected count under SAMPLE_RATIO_MIN_DUE in either arm.
    """
    total = candidate + control
    expected = (total * candidate_share, total * (1 - candidate_share))
    if not 0 < candidate_share < 1 or min(expected) < SAMPLE_RATIO_MIN_DUE:
        return None
    seen = (candidate, control)
    chi2 = sum((o - e) ** 2 / e for o, e in zip(seen, expected, strict=True))
    return math.erfc(math.sqrt(chi2 / 2))  # the chi-square(1) tail: P(|N(0,1)| > √chi2)


def impressions_needed(
    ctr: float, relative_change: float, effect: float = 1.0, z: float = Z_95
) -> int | None:
    """Impressions each arm needs to detect a CTR moving from `ctr` by `relative_change` (0.1:
    +10 %) with 80 % power at two-sided 95 %, the usual two-proportion sample size, times the
    design effect `effect`; None where the rates leave (0, 1)."""
    other = ctr * (1 + relative_change)
    if not (0 < ctr < 1 and 0 < other < 1 and other != ctr):
        return None
    spread = ctr * (1 - ctr) + other * (1 - other)
    return math.ceil((z + Z_POWER_80) ** 2 * spread / (other - ctr) ** 2 * effect)


def impressions_needed_per_change(control: ShopperSums) -> dict[float, int]:
    """impressions_needed for each of PLANNED_CHANGES of the control arm's CTR, at its design
    effect; empty while it has no clicks (or only clicks), without a change the rate cannot
    take (past 1)."""
    if not 0 < control.clicked < control.impressions:
        return {}
    ctr, effect = control.clicked / control.impressions, design_effect(control)
    needed = {c: impressions_needed(ctr, c, effect) for c in PLANNED_CHANGES}
    return {change: n for change, n in needed.items() if n is not None}
