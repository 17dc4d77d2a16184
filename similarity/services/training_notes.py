"""What a training job's log says about a catalogue it could not train or measure as usual:
photos left out as unreadable, no early stopping, a protocol without figures (the version page's
figures then show nothing, and these lines say why)."""

from collections.abc import Iterator

from ..ml.training import TrainingConfig, TrainingResult
from .training_photos import named_ids

NOTE_UNREADABLE = "left out {count} stored photos that do not decode (image ids {ids})"
NOTE_NO_EARLY_STOPPING = (
    "no early stopping: no validation photo has another photo of its label to find (e.g. one "
    "photo per product, without variant groups or shared categories), so it trained the "
    "configured {epochs} epochs"
)
NOTE_UNMEASURED = "no {protocol} figure: {why}"


def training_notes(dataset: dict, config: TrainingConfig, result: TrainingResult) -> Iterator[str]:
    """The log's lines after model selection: the weights, then what was unusual."""
    yield f"weights: {result.weights_used}"
    if unreadable := dataset.get("unreadable_image_ids"):
        yield NOTE_UNREADABLE.format(count=len(unreadable), ids=named_ids(unreadable))
    if result.best_val_recall_at_1 is None:  # no epoch was validated: no validation photos
        yield NOTE_NO_EARLY_STOPPING.format(epochs=config.epochs)


def evaluation_notes(metrics: dict) -> Iterator[str]:
    """A line per protocol without a figure (`protocols.unmeasured_protocols`), with why."""
    for protocol, why in metrics["evaluation"].get("unmeasured", {}).items():
        yield NOTE_UNMEASURED.format(protocol=protocol, why=why)
