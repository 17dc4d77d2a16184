"""Train a sequence model with Keras 3 (only this module and those it imports use Keras here).

Called by the worker task, `manage.py train_behaviour` and the bench; never by the web process.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from . import checkpoints
from .config import SequenceConfig
from .data import SequenceData, histories_and_targets, last_window, target_kinds
from .devices import training_device
from .metrics import ndcg_at_k, recall_at_k, top_k
from .model import SequenceRecommender, export_weights
from .windows import future_items, window_events

EVAL_BATCH = 256
NOTHING_TO_LEARN = "no visitor has two events before the validation cut: nothing to learn from"


@dataclass
class TrainResult:
    """What a training run leaves: serving weights and how it went.

    weights: name -> float32 array, what `serving.SequenceScorer` and `artifacts.save` take;
    history: one dict per epoch run ({"epoch", "loss", "recall", "ndcg", "seconds"});
    best_recall: best validation Recall@k (the weights are those of that epoch; nan when no
    visitor could be validated: then the last epoch's weights); best_epoch: 1-based;
    epochs_run: including resumed ones; stopped: "early" | "epochs" | "cancelled" | "time";
    device: "cpu" or the GPU strategy used.
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
    deadline: float | None = None,
) -> TrainResult:
    """Train on `train`'s next events; validate Recall@k of `valid`'s purchases after each epoch.

    train: events before the validation cut; valid: events at or after it (`data.time_split`);
    visitors in both are validated (their train history in, their later purchases as targets;
    all later events when nobody purchased). content: (n_items, d) float32 L2-normalised
    content vectors (rows of zeros for items without one; unnormalised ones give huge first
    logits), or None (then config.use_content is ignored).
    on_epoch(epoch, metrics) after each epoch (progress); should_stop() polled between batches
    (cancel: returns the best weights so far, stopped="cancelled"). checkpoint_dir: per-epoch
    checkpoints; a run with the same config on the same data (events, items, content) resumes
    after the last finished epoch (the epochs since its best count towards patience, as if it
    had never stopped), any other starts afresh. deadline: a time.monotonic() by which the
    epochs end: another starts only if one as long as the last still fits (stopped="time", the
    best weights so far, as a finished run). Seeded by config.seed; mixed
    precision (and tf.distribute under TensorFlow) when a GPU is visible.
    Raises ValueError(NOTHING_TO_LEARN) when no training visitor has two events.
    """
    keras.utils.set_random_seed(config.seed)
    device, scope = training_device()
    # Items without a training event have nothing to learn an id from: their id part stays 0,
    # as for products newer than the model, so content alone places them (cold start).
    known = np.bincount(train.items, minlength=train.n_items) > 0
    # The run builds the model's variables (its first call) in the scope too, and so does a
    # resume (the optimizer's): a multi-GPU MirroredStrategy refuses variables made outside it.
    with scope:
        model = SequenceRecommender(config, train.n_items, content, known)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
        )
        data = ""
        if checkpoint_dir is not None:
            content_used = content if model.use_content else None
            data = checkpoints.data_fingerprint(train, valid, content_used)
        run = _Run(model, config, train, valid, device, checkpoint_dir, data)
        start = run.resume()
    return run.fit(start, on_epoch, should_stop, deadline)


class _Stop(keras.callbacks.Callback):
    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        super().__init__()
        self.should_stop, self.cancelled = should_stop, False

    def on_train_batch_end(self, batch, logs=None):
        if self.should_stop is not None and self.should_stop():
            self.cancelled = True
            self.model.stop_training = True


class _Run:
    """One training run: epochs, validation, early stopping, checkpoints."""

    def __init__(self, model, config, train, valid, device, checkpoint_dir, data) -> None:
        self.model, self.config, self.device = model, config, device
        events = window_events(train, config.max_len)
        if not len(events):
            raise ValueError(NOTHING_TO_LEARN)
        self.items = np.where(events >= 0, train.items[np.maximum(events, 0)], 0)
        self.kinds = np.where(events >= 0, train.kinds[np.maximum(events, 0)], 0)
        self.future = future_items(train, events, config.horizon)  # (W, L, horizon)
        self.reach = (self.future >= 0).sum(axis=2)  # future events each slot has, contiguous
        kinds = target_kinds(train, valid)
        histories, self.valid_targets = histories_and_targets(train, valid, kinds)
        windows = [last_window(i, k, config.max_len) for i, k in histories]
        self.valid_items = np.array([w[0] for w in windows]).reshape(-1, config.max_len)
        self.valid_kinds = np.array([w[1] for w in windows]).reshape(-1, config.max_len)
        self.folder = Path(checkpoint_dir) if checkpoint_dir else None
        self.data = data  # what this run learns from (checkpoints.data_fingerprint)
        self.history: list[dict] = []
        self.best_recall, self.best_epoch, self.best_weights = float("nan"), 0, None
        self.model([self.items[:1], self.kinds[:1], *self._sampled_inputs(0, 1)[0]])

    def fit(self, start: int, on_epoch, should_stop, deadline: float | None) -> TrainResult:
        """Train on after epoch `start` (resume's)."""
        # Epochs without improvement so far: each one after the best (`_keep_best`), so a
        # resumed run stops where the uninterrupted one would, or at once if it already had.
        waited = start - self.best_epoch
        stopped = "early" if start and waited >= self.config.patience else "epochs"
        last = start if stopped == "early" else self.config.epochs
        stop = _Stop(should_stop)
        for epoch in range(start + 1, last + 1):
            began = time.monotonic()
            inputs, labels = self._sampled_inputs(epoch, len(self.items))
            fitted = self.model.fit(
                [self.items, self.kinds, *inputs],
                labels,
                batch_size=self.config.batch_size,
                epochs=1,
                shuffle=True,
                verbose=0,
                callbacks=[stop],
            )
            if stop.cancelled:
                stopped = "cancelled"
                break
            metrics = {"epoch": epoch, "loss": float(fitted.history["loss"][-1])}
            metrics.update(self.validate())
            metrics["seconds"] = round(time.monotonic() - began, 2)
            self.history.append(metrics)
            waited = self._keep_best(epoch, metrics["recall"], waited)
            self._checkpoint(epoch)
            if on_epoch is not None:
                on_epoch(epoch, metrics)
            if waited >= self.config.patience:
                stopped = "early"
                break
            out_of_time = deadline is not None and time.monotonic() + metrics["seconds"] > deadline
            if out_of_time and epoch < last:
                stopped = "time"
                break
        weights = self.best_weights or export_weights(self.model)
        return TrainResult(
            weights=weights,
            history=self.history,
            best_recall=self.best_recall,
            best_epoch=self.best_epoch,
            epochs_run=len(self.history),
            stopped=stopped,
            device=self.device,
        )

    def _sampled_inputs(self, epoch: int, rows: int) -> tuple[list[np.ndarray], np.ndarray]:
        """Extra inputs and labels: none for the full softmax, else targets and negatives.

        Each slot's target is the item of one of its next `horizon` events, drawn per epoch.
        """
        rng = np.random.default_rng([self.config.seed, epoch])
        reach = self.reach[:rows]
        offset = (rng.random(reach.shape) * reach).astype(np.int64)
        targets = np.take_along_axis(self.future[:rows], offset[:, :, None], axis=2)[:, :, 0]
        if not self.config.negatives:
            return [], targets
        negatives = rng.integers(0, self.model.n_items, size=(rows, self.config.negatives))
        labels = np.where(targets >= 0, 0, -1)
        return [np.maximum(targets, 0), negatives], labels

    def validate(self) -> dict:
        """Mean Recall@k and NDCG@k of the validation visitors (nan when there are none)."""
        if not len(self.valid_items):
            return {"recall": float("nan"), "ndcg": float("nan")}
        vectors = keras.ops.convert_to_numpy(self.model.item_vectors()).astype(np.float32)
        tops = []
        for begin in range(0, len(self.valid_items), EVAL_BATCH):
            batch = slice(begin, begin + EVAL_BATCH)
            states = self.model.encode(self.valid_items[batch], self.valid_kinds[batch])
            last = keras.ops.convert_to_numpy(states[:, -1, :]).astype(np.float32)
            tops.append(top_k(last @ vectors.T, self.config.k))
        top = np.concatenate(tops)
        return {
            "recall": float(recall_at_k(top, self.valid_targets).mean()),
            "ndcg": float(ndcg_at_k(top, self.valid_targets).mean()),
        }

    def _keep_best(self, epoch: int, recall: float, waited: int) -> int:
        """Keep the weights of a better epoch; epochs waited since the best one."""
        if np.isnan(self.best_recall) or recall > self.best_recall:
            self.best_recall, self.best_epoch = recall, epoch
            self.best_weights = export_weights(self.model)
            return 0
        return waited + 1

    def _checkpoint(self, epoch: int) -> None:
        if self.folder is not None:
            state = {"epoch": epoch, "history": self.history, "best_recall": self.best_recall}
            state["best_epoch"], state["data"] = self.best_epoch, self.data
            checkpoints.save(self.folder, self.model, self.config, state, self.best_weights)

    def resume(self) -> int:
        """The last finished epoch of this model's checkpoint (state restored), or 0."""
        state = (
            None
            if self.folder is None
            else checkpoints.restore(self.folder, self.model, self.config, self.data)
        )
        if state is None:
            return 0
        self.history, self.best_weights = state["history"], state["best_weights"]
        self.best_recall, self.best_epoch = state["best_recall"], state["best_epoch"]
        return int(state["epoch"])
