"""The sequence version page's chart: training loss and validation Recall@k per epoch, as inline
SVG (matplotlib imported inside, so only this page pays for it; never pyplot, whose global
state is not thread-safe). Each series has an SVG id (`seq-loss-<n>`, `seq-recall-<n>`)."""

import io
import re

FIGURE_SIZE = (7.5, 3.0)  # inches: fits the admin's readonly field column at 100 dpi
SVG_START = re.compile(r"^.*?(?=<svg)", re.DOTALL)  # XML prolog and DOCTYPE: not for inline


def sequence_curves_svg(*, series: dict[str, list[dict]], k: int = 20) -> str:
    """`series`: label → a version's history ({"epoch", "loss", "recall"} per epoch)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    FigureCanvasAgg(figure)
    loss_axes, recall_axes = figure.subplots(1, 2)
    for number, (label, history) in enumerate(series.items()):
        epochs = [entry["epoch"] for entry in history]
        loss_axes.plot(
            epochs,
            [e.get("loss") for e in history],
            marker="o",
            label=label,
            gid=f"seq-loss-{number}",
        )
        validated = [e for e in history if e.get("recall") is not None]
        recall_axes.plot(
            [e["epoch"] for e in validated],
            [e["recall"] for e in validated],
            marker="o",
            label=label,
            gid=f"seq-recall-{number}",
        )
    loss_axes.set(title="training loss", xlabel="epoch")
    recall_axes.set(title=f"validation Recall@{k}", xlabel="epoch", ylim=(0, 1.02))
    for axes in (loss_axes, recall_axes):
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    loss_axes.legend(fontsize="small")
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "prodsim"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return SVG_START.sub("", buffer.getvalue(), count=1)
