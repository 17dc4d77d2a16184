"""Whether a freshly trained version replaces the active one: Recall@1 against Recall@1, on
an evaluation protocol both versions measured, from runs of comparable kind."""

from django.db import transaction

from core.locks import IMAGE_ACTIVATIONS, turn_lock

from ..ml.evaluation.protocols import PROTOCOLS, SELECTION_RUN, figures_source
from ..models import ModelVersion
from ..selectors import active_version
from .versions import model_version_activate

PRIMARY_METRIC = "recall_at_1"
BY_HAND = "compare the two versions' pages and activate it by hand"


@transaction.atomic
def auto_activate(version: ModelVersion) -> str:
    """Activate when configured and the version beats the active one on Recall@1 of a protocol
    both measured (known products is easier than new products: figures of different protocols
    would let a version win by how it was measured), unless only one of the two figures is a
    selection run's (see `figures_source`). Returns what was decided and why, for the job log
    ("" when auto-activation is off)."""
    if not version.auto_activate:
        return ""
    # Compared with the version active now: one an admin activated a moment ago is not replaced
    # on the strength of a comparison with the version before it.
    turn_lock(IMAGE_ACTIVATIONS)
    current = active_version()
    if current is None:
        model_version_activate(version=version)
        return "activated: no version was active"
    # Relevance is "the same label": R@1 against category labels and against variant groups
    # (which `auto` picks once enough products have partners) are different tests, and one
    # version would win by how it was measured.
    # ("auto" is a version's before its training resolved it: unknown, not compared.)
    labels = {version.label_source, current.label_source}
    if len(labels) > 1 and not labels & {"auto", ""}:
        return (
            f"left ready: it was measured with {version.label_source} as labels, active "
            f"v{current.pk} with {current.label_source}; {BY_HAND}"
        )
    mine, theirs = _measured(version.metrics), _measured(current.metrics)
    protocol = _shared_protocol(version.metrics, mine, theirs)
    if protocol is None:
        return (
            f"left ready: it was measured on {_names(mine)}, active v{current.pk} on "
            f"{_names(theirs)}, no protocol in common; {BY_HAND}"
        )
    sources = _source(version.metrics, protocol), _source(current.metrics, protocol)
    # A selection run's figure is a lower bound of its refit model's: set against a figure of
    # the served recipe, one version would win by how it was measured. (None: measured before
    # the protocols, compared as it always was.)
    if None not in sources and (sources[0] == SELECTION_RUN) != (sources[1] == SELECTION_RUN):
        return (
            f"left ready: its figures are the {sources[0]}'s, active v{current.pk}'s the "
            f"{sources[1]}'s; {BY_HAND}"
        )
    if protocol:
        score, active_score, on = mine[protocol], theirs[protocol], f" on {protocol}"
    else:
        score, active_score, on = _top_level(version.metrics), _top_level(current.metrics), ""
    if score > active_score:
        model_version_activate(version=version)
        return f"activated: R@1 {score:.3f} beats active v{current.pk}'s {active_score:.3f}{on}"
    return (
        f"left ready: R@1 {score:.3f} does not beat active v{current.pk}'s {active_score:.3f}{on}"
    )


def _measured(metrics: dict) -> dict[str, float] | None:
    """{protocol: Recall@1} of the protocols a version measured; None for a version measured
    before protocols existed (its one figure is compared as it always was)."""
    evaluation = metrics.get("evaluation")
    if not evaluation:
        return None
    tables = metrics.get("protocols") or {evaluation.get("protocol"): metrics}
    return {
        protocol: rows.get("model", {}).get(PRIMARY_METRIC, 0.0)
        for protocol, rows in tables.items()
        if protocol is not None
    }


def _shared_protocol(metrics: dict, mine: dict | None, theirs: dict | None) -> str | None:
    """The protocol to compare on: the candidate's deciding one when the active version measured
    it too, else the first both measured; "" (the top-level figures) when either version
    predates protocols; None when they measured none in common."""
    if mine is None or theirs is None:
        return ""
    deciding = metrics["evaluation"].get("protocol")
    order = [deciding, *(p for p in PROTOCOLS if p != deciding)]
    return next((p for p in order if p in mine and p in theirs), None)


def _source(metrics: dict, protocol: str) -> str | None:
    evaluation = metrics.get("evaluation")
    return figures_source(evaluation, protocol) if evaluation else None


def _top_level(metrics: dict) -> float:
    return metrics.get("model", {}).get(PRIMARY_METRIC, 0.0)


def _names(measured: dict) -> str:
    return " and ".join(sorted(measured)) or "no protocol"
