"""The version page's held-out figures: both protocols, which one decides, which run they are of."""

from django.utils.html import format_html, format_html_join

from ..ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS, SCORED_REFIT, figures_source
from ..ml.options import METRIC_COLUMNS

PROTOCOL_TITLES = {
    KNOWN_PRODUCTS: "known products, new photos",
    NEW_PRODUCTS: "new products (group-disjoint)",
}
NOTE_SELECTION = (
    "Figures of the selection run: the model trained without the held-out photos. The served "
    "model was then refit on every photo, for the epochs the selection run found best."
)
NOTE_REFIT = (
    "The served model was refit on every photo, for the epochs the selection run found best "
    "(refit_models refits from their own seeds, side by side). The known-products figures are "
    "of the same refits without their query photos (the served recipe on photos it never saw); "
    "the tables say whose figures each one holds."
)
NOTE_SERVED = "Figures of the served model on photos it never trained on."
NOTE_LEGACY = "Measured before the two protocols existed: held-out products, leave-one-out."


def held_out_html(metrics: dict) -> str:
    """A table per protocol (rows: model and baselines), the deciding one first and marked."""
    evaluation = metrics.get("evaluation")
    if not evaluation:  # a version trained before the protocols: one flat table, as measured
        rows = {name: values for name, values in metrics.items() if isinstance(values, dict)}
        return format_html("<p>{}</p>{}", NOTE_LEGACY, _table(rows))
    deciding = evaluation.get("protocol")
    protocols = metrics.get("protocols", {})
    order = sorted(protocols, key=lambda name: name != deciding)
    sources = {name: figures_source(evaluation, name) for name in protocols}
    note = NOTE_SERVED
    if evaluation.get("refit_on_all"):
        note = NOTE_REFIT if SCORED_REFIT in sources.values() else NOTE_SELECTION
    sections = format_html_join(
        "",
        "<h4>{} ({}){}</h4>{}",
        (
            (
                PROTOCOL_TITLES.get(name, name),
                sources[name],
                " — decides early stopping and auto-activation" if name == deciding else "",
                _table(protocols[name]),
            )
            for name in order
        ),
    )
    return format_html("<p>{}</p>{}{}", note, sections, _unmeasured(evaluation))


def _unmeasured(evaluation: dict) -> str:
    """Each protocol without a figure and why (a plain shop's photos give it no query with a
    photo of its label to find), so an empty page is not taken for a missing evaluation."""
    return format_html_join(
        "",
        "<h4>{}</h4><p>No figure: {}</p>",
        (
            (PROTOCOL_TITLES.get(name, name), why)
            for name, why in evaluation.get("unmeasured", {}).items()
        ),
    )


def _table(rows: dict[str, dict]) -> str:
    header = format_html_join("", "<th>{}</th>", ((c.replace("_", " "),) for c in METRIC_COLUMNS))
    body = format_html_join(
        "",
        "<tr><th>{}</th>{}<td>{}</td></tr>",
        (
            (
                name,
                format_html_join(
                    "", "<td>{}</td>", ((f"{values.get(c, 0):.3f}",) for c in METRIC_COLUMNS)
                ),
                values.get("queries", ""),
            )
            for name, values in rows.items()
        ),
    )
    return format_html("<table><tr><th></th>{}<th>queries</th></tr>{}</table>", header, body)
