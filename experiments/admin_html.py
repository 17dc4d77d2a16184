"""HTML of experiment results, shared by the experiment's admin page and the model version pages
(admin_versions.py), so both show the same figures, worded the same way."""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from similarity.models import ModelVersion

from .models import Experiment
from .selectors import ExperimentResults
from .stats import Interval

VERDICT_BETTER = "The candidate's CTR is higher: the 95 % interval of the difference is above 0."
VERDICT_WORSE = "The candidate's CTR is lower: the 95 % interval of the difference is below 0."
VERDICT_OPEN = "No difference shown yet: the 95 % interval of the difference includes 0."
VERDICT_NO_DATA = "No impressions in both arms yet."
CLICKS_UNTIL_STOP = (
    "Clicks counted up to the stop ({}): a link shown before it and followed later is not "
    "counted, so these figures no longer change."
)
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
SPLIT_ENDED = (
    "split ended: its candidate was activated, archived or failed, so every shopper sees the "
    "usual strip; stop the experiment"
)


def interval_text(interval: Interval | None, *, signed: bool = False) -> str:
    """A proportion in % (or a difference in points) with its interval: "18.00 [13.3, 23.9]"."""
    if interval is None:
        return "–"
    sign = "+" if signed else ""
    return (
        f"{100 * interval.estimate:{sign}.2f} [{100 * interval.low:{sign}.2f}, "
        f"{100 * interval.high:{sign}.2f}]"
    )


def version_links(versions: list[ModelVersion]) -> str:
    if not versions:
        return "–"
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:similarity_modelversion_change", args=[v.pk]), str(v)) for v in versions),
    )


def verdict(difference: Interval | None) -> str:
    if difference is None:
        return VERDICT_NO_DATA
    if difference.low > 0:
        return VERDICT_BETTER
    if difference.high < 0:
        return VERDICT_WORSE
    return VERDICT_OPEN


def results_html(results: ExperimentResults) -> str:
    """Per arm: served by, shoppers, impressions, clicks, clicked impressions, CTR [95 % CI];
    then the difference candidate − control in points with its interval, the verdict, and a
    warning when the arms' shoppers do not match the experiment's share."""
    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                arm.arm,
                version_links(arm.versions),
                arm.shoppers,
                arm.impressions,
                arm.clicks,
                arm.clicked_impressions,
                interval_text(arm.ctr),
            )
            for arm in results.arms.values()
        ),
    )
    return format_html(
        "<table><tr><th>Arm</th><th>Served by</th><th>Shoppers</th><th>Impressions</th>"
        "<th>Clicks</th><th>Clicked impressions</th><th>CTR [95 % CI]</th></tr>{}"
        "<tr><th colspan=6>Difference, candidate − control (percentage points)</th>"
        "<td>{}</td></tr></table>{}<p>{}</p>{}{}",
        rows,
        interval_text(results.difference, signed=True),
        _sample_ratio_html(results),
        verdict(results.difference),
        _planning_html(results),
        _clicks_until_html(results),
    )


def _planning_html(results: ExperimentResults) -> str:
    if not results.needed:
        return ""
    needed = ", ".join(f"{n:,} for {change:+.0%}" for change, n in results.needed.items())
    control = results.arms[Experiment.Arm.CONTROL]
    ctr = control.clicked_impressions / control.impressions
    return format_html("<p>{}</p>", PLANNING.format(ctr=ctr, needed=needed))


def _sample_ratio_html(results: ExperimentResults) -> str:
    if not results.sample_ratio_mismatch:
        return ""
    arms = results.arms
    text = SAMPLE_RATIO_MISMATCH.format(
        candidate=arms[Experiment.Arm.CANDIDATE].shoppers,
        control=arms[Experiment.Arm.CONTROL].shoppers,
        share=results.share,
        # Far past any doubt the tail underflows to 0: "p = 0" would read as certainty.
        p="< 0.000001" if results.sample_ratio_p < 1e-6 else f"= {results.sample_ratio_p:.1g}",
    )
    return format_html('<p class="errornote" role="alert">{}</p>', text)


def _clicks_until_html(results: ExperimentResults) -> str:
    if results.clicks_until is None:
        return ""
    return format_html("<p>{}</p>", CLICKS_UNTIL_STOP.format(_when(results.clicks_until)))


def experiment_state(experiment) -> str:
    """Not started, running, split ended (see selectors.state: `experiment` must carry its
    `split_ended` annotation), or the period it ran."""
    if experiment.started_at is None:
        return "not started"
    started = _when(experiment.started_at)
    if not experiment.active and experiment.ended_at is not None:
        return f"ran {started} – {_when(experiment.ended_at)}"
    if experiment.split_ended:
        return f"started {started}, {SPLIT_ENDED}"
    return f"running since {started}"


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
