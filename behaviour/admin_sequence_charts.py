"""The sequence version page's chart: training loss and validation Recall@k per epoch, drawn by
the image versions' chart (similarity.charts) with the sequence histories' key and ids
(`seq-loss-<n>`, `seq-recall-<n>`), in a figure with its caption and its figures as a table."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from similarity.charts import CAPTION_ID, training_curves_svg

GID_PREFIX = "seq"


def sequence_curves_svg(*, series: dict[str, list[dict]], k: int = 20) -> str:
    """`series`: label → a version's history ({"epoch", "loss", "recall"} per epoch)."""
    return training_curves_svg(
        series=series,
        recall_key="recall",
        recall_title=f"validation Recall@{k}",
        gid_prefix=GID_PREFIX,
    )


def sequence_curves_html(*, label: str, history: list[dict], k: int = 20) -> SafeString:
    """The chart as a <figure>: the <svg> (role=img) named by the caption, then the same
    figures as a table in a <details>, since the curves exist nowhere else on the page."""
    # matplotlib's SVG of our own numbers and labels (XML-escaped): safe to inline.
    svg = mark_safe(sequence_curves_svg(series={label: history}, k=k))  # noqa: S308
    cells = [(e["epoch"], _figure(e.get("loss")), _figure(e.get("recall"))) for e in history]
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", cells)
    return format_html(
        '<figure class="prodsim-chart"><figcaption id="{}">{}</figcaption>{}'
        "<details><summary>The curves' figures</summary><table><thead><tr><th>epoch</th>"
        "<th>training loss</th><th>validation Recall@{}</th></tr></thead><tbody>{}</tbody>"
        "</table></details></figure>",
        CAPTION_ID.format(prefix=GID_PREFIX),
        f"Training loss and validation Recall@{k} of {label} per epoch",
        svg,
        k,
        rows,
    )


def _figure(value) -> str:
    return "–" if value is None else f"{value:.3f}"
