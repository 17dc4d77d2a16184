"""A model version next to the active version and the baselines: figures, curves and facts.

The baselines are the ones the version was evaluated against, on its own held-out split. The
active version's figures come from *its* split: the dataset rows show both snapshots' sizes and
hashes, so an admin can tell whether the two were scored on the same catalogue.
"""

from dataclasses import dataclass, field

from ..ml.options import METRIC_COLUMNS
from ..models import ModelVersion
from .versions import active_version

BASELINES = {
    "colour_histogram": "colour histogram",
    "backbone_untrained": "backbone, not trained here",
    "random_init": "random init",
}
ROW_THIS, ROW_ACTIVE, ROW_BASELINE = "this", "active", "baseline"
PARAMETERS = (
    *("backbone", "weights_used", "input_size", "embedding_dim", "vector_dim", "metric"),
    "label_source",
)


@dataclass(frozen=True)
class MetricRow:
    label: str
    kind: str  # ROW_THIS, ROW_ACTIVE or ROW_BASELINE
    values: dict[str, float | None]


@dataclass
class VersionComparison:
    version: ModelVersion
    active: ModelVersion | None  # None when no version is active or this one is
    rows: list[MetricRow] = field(default_factory=list)
    curves: dict[str, list[dict]] = field(default_factory=dict)  # label → per-epoch history
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # (what, this, active)


def _values(metrics: dict) -> dict[str, float | None]:
    return {column: metrics.get(column) for column in METRIC_COLUMNS}


def _label(version: ModelVersion, role: str) -> str:
    return f"v{version.pk} ({role})"


def _dataset(version: ModelVersion) -> str:
    data = version.dataset
    if not data:
        return "–"
    images = data.get("images", {})
    sizes = "/".join(str(images.get(split, 0)) for split in ("train", "val", "test"))
    digest = data.get("sha256", "")[:12]
    return f"{sizes} images (train/val/test), {data.get('labels')} labels, sha256 {digest}"


def _facts(version: ModelVersion) -> dict[str, str]:
    facts = {name: str(getattr(version, name)) for name in PARAMETERS}
    facts.update({f"param {key}": str(value) for key, value in sorted(version.params.items())})
    facts["dataset"] = _dataset(version)
    facts.update({f"time {phase}": f"{seconds} s" for phase, seconds in version.timings.items()})
    if version.timings:
        facts["time total"] = f"{round(sum(version.timings.values()), 1)} s"
    return facts


def version_comparison(*, version: ModelVersion) -> VersionComparison:
    """This version's held-out figures, the active version's, and the baselines'."""
    active = active_version()
    active = None if active is None or active.pk == version.pk else active
    comparison = VersionComparison(version=version, active=active)
    role = "active" if version.status == ModelVersion.Status.ACTIVE else "this version"
    comparison.rows.append(
        MetricRow(_label(version, role), ROW_THIS, _values(version.metrics.get("model", {})))
    )
    comparison.curves[_label(version, role)] = version.history
    if active is not None:
        comparison.rows.append(
            MetricRow(
                _label(active, "active"), ROW_ACTIVE, _values(active.metrics.get("model", {}))
            )
        )
        comparison.curves[_label(active, "active")] = active.history
    comparison.rows += [
        MetricRow(label, ROW_BASELINE, _values(version.metrics[name]))
        for name, label in BASELINES.items()
        if name in version.metrics
    ]
    mine, theirs = _facts(version), _facts(active) if active is not None else {}
    comparison.facts = [
        (name, mine.get(name, "–"), theirs.get(name, "–")) for name in {**mine, **theirs}
    ]
    return comparison
