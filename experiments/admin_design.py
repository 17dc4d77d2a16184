"""HTML of an experiment's design checks under its results (admin_html.results_html): the
sample ratio warning and the planning line (design.py)."""

import math

from django.utils.html import format_html

from .models import Experiment
from .selectors import ExperimentResults

SAMPLE_RATIO_MISMATCH = (
    "Sample ratio mismatch: {candidate} shoppers in the candidate arm and {control} in the "
    "control, where {share} % should be candidates (chi-square test p {p}). Something "
    "besides the split decides who is counted (a candidate strip that shows nothing logs no "
    "impression; a cached page; a crawler let through): find it before reading the CTRs."
)
PLANNING = (
    "Planning: to detect a relative change of the control's CTR ({ctr:.2%}) with 80 % power, "
    "each arm needs about {needed} impressions. Read the verdict once the arms have them: "
    "deciding the first day the interval clears 0 overstates the evidence."
)


def sample_ratio_html(results: ExperimentResults) -> str:
    if not results.sample_ratio_mismatch:
        return ""
    arms = results.arms
    text = SAMPLE_RATIO_MISMATCH.format(
        candidate=arms[Experiment.Arm.CANDIDATE].shoppers,
        control=arms[Experiment.Arm.CONTROL].shoppers,
        share=results.share,
        p=f"< {p_bound(results.sample_ratio_p)}",
    )
    return format_html('<p class="errornote" role="alert">{}</p>', text)


def p_bound(p: float) -> str:
    """p rounded up to one significant digit, in fixed notation ("0.0002" for 0.000153), so
    that "p < bound" holds: rounded to the nearest, a flagged 0.00096 read "0.001", the very
    threshold. Far past any doubt the tail underflows to 0, and "p = 0" would read as
    certainty: "0.000001" bounds it there."""
    if p < 1e-6:
        return "0.000001"
    places = -math.floor(math.log10(p))  # p lies in [10^-places, 10^-(places-1))
    bound = math.ceil(p * 10**places) / 10**places
    return f"{bound:.{places}f}".rstrip("0")


def planning_html(results: ExperimentResults) -> str:
    if not results.needed:
        return ""
    needed = ", ".join(f"{n:,} for {change:+.0%}" for change, n in results.needed.items())
    control = results.arms[Experiment.Arm.CONTROL]
    ctr = control.clicked_impressions / control.impressions
    return format_html("<p>{}</p>", PLANNING.format(ctr=ctr, needed=needed))
