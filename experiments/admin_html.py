"""HTML of experiment results, shared by the experiment's admin page and the model version pages
(admin_versions.py), so both show the same figures, worded the same way."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from behaviour.models import SequenceModelVersion
from similarity.models import ModelVersion

from .admin_design import planning_html, sample_ratio_html
from .admin_state import counting_window_html
from .selectors import ArmResult, ExperimentResults
from .stats import MIN_EFFECTIVE_SHOPPERS, Interval

VERDICT_BETTER = "The candidate's CTR is higher: the 95 % interval of the difference is above 0."
VERDICT_WORSE = "The candidate's CTR is lower: the 95 % interval of the difference is below 0."
VERDICT_OPEN = "No difference shown yet: the 95 % interval of the difference includes 0."
VERDICT_NO_DATA = "No impressions in both arms yet."
VERDICT_MISMATCH = (
    "No verdict while the sample ratio mismatch stands: the CTRs cannot be trusted until its "
    "cause is found."
)
VERDICT_TOO_EARLY = (
    "Too early to read: an arm has impressions of under {} shoppers' worth (a few heavy "
    "browsers count as few), and intervals this early often miss."
)
# A sequence-version test's control arm when the version active over it is not known for sure
# (selectors.results.sequence_served): impressions record the image version only.
ACTIVE_SEQUENCE = "the active sequence version"


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


def sequence_version_link(version: SequenceModelVersion) -> str:
    url = reverse("admin:behaviour_sequencemodelversion_change", args=[version.pk])
    return format_html('<a href="{}">{}</a>', url, str(version))


def served_by(arm: ArmResult, *, sequence_test: bool) -> str:
    """The versions that served an arm: the image versions its impressions record, after the
    sequence version where the arms differ in it."""
    images = version_links(arm.versions)
    if not sequence_test:
        return images
    sequence = arm.sequence_version
    return format_html(
        "{}, {}", sequence_version_link(sequence) if sequence else ACTIVE_SEQUENCE, images
    )


def verdict(difference: Interval | None, *, too_early: bool = False, mismatch: bool = False) -> str:
    if difference is None:
        return VERDICT_NO_DATA
    if mismatch:  # something besides the split decides who is counted
        return VERDICT_MISMATCH
    if too_early:
        return VERDICT_TOO_EARLY.format(MIN_EFFECTIVE_SHOPPERS)
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
                served_by(arm, sequence_test=results.sequence_test),
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
        sample_ratio_html(results),
        verdict(
            results.difference,
            too_early=results.too_early,
            mismatch=results.sample_ratio_mismatch,
        ),
        planning_html(results),
        counting_window_html(results),
    )
