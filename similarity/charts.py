"""Server-side charts for the admin as inline SVG strings.

matplotlib is imported inside the functions: it costs ~0.5 s and ~40 MB, and only the model
version page needs it, so neither Django start-up nor any other page pays for it. Figures are
built with `matplotlib.figure.Figure` on the Agg canvas, never through pyplot, whose global
state is not safe across a web server's threads.

Every plotted series carries an SVG id (`gid`) — `curve-loss-<n>`, `curve-recall-<n>`,
`bar-<n>-<metric>` — so the page, and tests, can find each series in the markup.

Each chart is inlined in a page that may hold another: matplotlib numbers its own ids afresh in
every figure (`axes_1`, tick markers, clip paths), so they get the chart's prefix (`curve`,
`bar`, `seq`) and an underscore, `curve_axes_1`, their references too; the series' ids, with a
dash, stay as named. The <svg> is role="img", named by the element with id `<prefix>-caption`
(CAPTION_ID): the <figcaption> of the page's <figure> around it.
"""

import io
import re

RECALL_COLUMNS = ("recall_at_1", "recall_at_5", "recall_at_10")
FIGURE_SIZE = (7.5, 3.0)  # inches: fits the admin's readonly field column at 100 dpi
SVG_START = re.compile(r"^.*?(?=<svg)", re.DOTALL)  # XML prolog and DOCTYPE: not for inline
CAPTION_ID = "{prefix}-caption"
SVG_ID = re.compile(r'\bid="([^"]+)"')
SVG_REFERENCE = re.compile(r'(\bhref="#|url\(#)([^")]+)')  # href, xlink:href, url(#…)


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _svg(figure, *, prefix: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    # Text as <text> (searchable, small) and no creation date, so the same data gives the
    # same markup.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "prodsim"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _prefixed_ids(SVG_START.sub("", buffer.getvalue(), count=1), prefix=prefix)
    caption = CAPTION_ID.format(prefix=prefix)
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{caption}" ', 1)


def _prefixed_ids(svg: str, *, prefix: str) -> str:
    """matplotlib's ids, and every reference to one, as `prefix_<id>`. Our series' gids
    (`prefix-…`) keep their names."""

    def rename(name: str) -> str:
        return name if name.startswith(f"{prefix}-") else f"{prefix}_{name}"

    svg = SVG_ID.sub(lambda match: f'id="{rename(match.group(1))}"', svg)
    return SVG_REFERENCE.sub(lambda match: match.group(1) + rename(match.group(2)), svg)


def training_curves_svg(
    *,
    series: dict[str, list[dict]],
    recall_key: str = "val_recall_at_1",
    recall_title: str = "validation Recall@1",
    gid_prefix: str = "curve",
) -> str:
    """Loss (left) and the validation recall (right) per epoch, one line per labelled history.

    `series`: label → the version's history entries ({"epoch", "loss", recall_key}). Epochs
    without a validation figure are left out of the right panel. The sequence model's page
    draws its own histories with its own key and ids (`seq-loss-<n>`). `gid_prefix` starts
    every id in the chart: one chart per prefix on a page.
    """
    figure = _figure()
    loss_axes, recall_axes = figure.subplots(1, 2)
    for number, (label, history) in enumerate(series.items()):
        epochs = [entry["epoch"] for entry in history]
        losses = [entry.get("loss") for entry in history]
        loss_axes.plot(epochs, losses, marker="o", label=label, gid=f"{gid_prefix}-loss-{number}")
        validated = [e for e in history if e.get(recall_key) is not None]
        recall_axes.plot(
            [entry["epoch"] for entry in validated],
            [entry[recall_key] for entry in validated],
            marker="o",
            label=label,
            gid=f"{gid_prefix}-recall-{number}",
        )
    loss_axes.set(title="training loss", xlabel="epoch")
    recall_axes.set(title=recall_title, xlabel="epoch", ylim=(0, 1.02))
    for axes in (loss_axes, recall_axes):
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    loss_axes.legend(fontsize="small")
    return _svg(figure, prefix=gid_prefix)


def recall_bars_svg(
    *, rows: list[tuple[str, dict]], columns=RECALL_COLUMNS, gid_prefix: str = "bar"
) -> str:
    """Grouped bars: for each metric in `columns`, one bar per (label, values) row.

    A missing figure draws a zero-height bar, so every row keeps its place in every group.
    """
    figure = _figure()
    axes = figure.subplots()
    width = 0.8 / max(len(rows), 1)
    for number, (label, values) in enumerate(rows):
        heights = [values.get(column) or 0.0 for column in columns]
        positions = [
            index + (number - (len(rows) - 1) / 2) * width for index in range(len(columns))
        ]
        bars = axes.bar(positions, heights, width=width, label=label)
        for bar, column in zip(bars, columns, strict=True):
            bar.set_gid(f"{gid_prefix}-{number}-{column}")
    axes.set_xticks(range(len(columns)), [c.replace("recall_at_", "Recall@") for c in columns])
    axes.set(ylim=(0, 1.02), title="held-out retrieval")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(figure, prefix=gid_prefix)
