"""Train a sequence model with Keras 3 (this module and `model` are the only TF importers here).

Called by the worker task, `manage.py train_behaviour` and the bench; never by the web process.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import SequenceConfig
from .data import SequenceData


@dataclass
class TrainResult:
    """What a training run leaves: serving weights and how it went.

    weights: name -> float32 array, what `serving.SequenceScorer` and `artifacts.save` take;
    history: one dict per epoch run ({"epoch", "loss", "recall", "ndcg", "seconds"});
    best_recall: best validation Recall@k (the weights are those of that epoch; nan when no
    visitor could be validated); best_epoch: 1-based; epochs_run: including resumed ones;
    stopped: "early" | "epochs" | "cancelled"; device: "cpu" or the GPU strategy used.
    """

    weights: dict[str, np.ndarray]
    history: list[dict] = field(default_factory=list)
    best_recall: float = float("nan")
    best_epoch: int = 0
    epochs_run: int = 0
    stopped: str = "epochs"
    device: str = "cpu"


def train_sequence_model(
    train: SequenceData,
    valid: SequenceData,
    content: np.ndarray | None,
    config: SequenceConfig,
    *,
    on_epoch: Callable[[int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: Path | None = None,
) -> TrainResult:
    """Train on `train`'s next events; validate Recall@k of `valid`'s purchases after each epoch.

    train: events before the validation cut; valid: events at or after it (`data.time_split`);
    visitors in both are validated (their train history in, their later purchases as targets).
    content: (n_items, d) float32 content vectors (rows of zeros for items without one), or
    None (then config.use_content is ignored). on_epoch(epoch, metrics) after each epoch
    (progress); should_stop() polled between batches (cancel: returns the best weights so far,
    stopped="cancelled"). checkpoint_dir: per-epoch checkpoints; a run with the same config
    resumes after the last finished epoch. Seeded by config.seed; mixed precision and
    tf.distribute.MirroredStrategy when a GPU is visible, plain CPU otherwise.
    """
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")
