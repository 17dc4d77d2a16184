"""The comparison and gold-set blocks of a model version's admin page (rendered HTML)."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from .. import charts
from ..ml.options import METRIC_COLUMNS
from ..models import ModelVersion
from ..selectors.compare import version_comparison
from ..selectors.judgments import gold_set_precision, judged_pair_count
from ..services.versions import ERROR_CANCELLED

NOT_READY_YET = "– (scored once the version is ready)"
NEVER_SCORED = "– (never scored: {why}, so it has no model)"
NO_JUDGMENTS = "– (no judged pairs yet: mark pairs good or bad in the preview)"
NO_ACTIVE_SOURCES = (
    "– (judged pairs: {pairs}, but none of their source products is active: "
    "the gold set scores only the lists of products on sale)"
)


def preview_url(*, candidate: ModelVersion, sku: str = "") -> str:
    query = {"candidate": candidate.pk, **({"sku": sku} if sku else {})}
    return f"{reverse('similarity_admin:preview')}?{urlencode(query)}"


def never_ready_why(version: ModelVersion) -> str:
    """Why a failed version will never be ready (the page must not promise that it will)."""
    return "its training was cancelled" if version.error == ERROR_CANCELLED else "training failed"


def unscored_note(version: ModelVersion) -> str:
    """What a score section shows for a version that cannot serve: not ready yet, or never."""
    if version.status == ModelVersion.Status.FAILED:
        return NEVER_SCORED.format(why=never_ready_why(version))
    return NOT_READY_YET


def _inline(svg: str) -> str:
    # matplotlib writes every label through its XML escaping, and the labels are version
    # numbers and fixed names: the markup is safe to inline.
    return mark_safe(svg)  # noqa: S308


def comparison_html(*, version: ModelVersion) -> str:
    """Table of figures (this, active, baselines), Recall@K bars, training curves, facts."""
    comparison = version_comparison(version=version)
    curves = {label: history for label, history in comparison.curves.items() if history}
    context = {
        "comparison": comparison,
        "columns": [column.replace("_", " ") for column in METRIC_COLUMNS],
        "rows": [
            (row, [row.values[column] for column in METRIC_COLUMNS]) for row in comparison.rows
        ],
        "bars": _inline(charts.recall_bars_svg(rows=[(r.label, r.values) for r in comparison.rows]))
        if any(value is not None for row in comparison.rows for value in row.values.values())
        else "",
        "curves": _inline(charts.training_curves_svg(series=curves)) if curves else "",
        "preview_url": preview_url(candidate=version) if version.is_servable else "",
    }
    return render_to_string("admin/similarity/modelversion/comparison.html", context)


def gold_set_html(*, version: ModelVersion) -> str:
    """precision@k on the judged pairs, per category, for this version and the active one."""
    if not version.is_servable:
        return unscored_note(version)
    mine = gold_set_precision(version=version)
    if not mine.categories:  # nothing judged, or every judged source was taken off sale
        pairs = judged_pair_count()
        return NO_ACTIVE_SOURCES.format(pairs=pairs) if pairs else NO_JUDGMENTS
    active = version_comparison(version=version).active
    theirs = gold_set_precision(version=active) if active is not None else None
    other = {score.category_path: score for score in theirs.categories} if theirs else {}
    rows = [(score, other.get(score.category_path)) for score in mine.categories]
    rows.append((mine.overall, theirs.overall if theirs else None))
    context = {"report": mine, "active": active, "rows": rows}
    return render_to_string("admin/similarity/modelversion/gold_set.html", context)
