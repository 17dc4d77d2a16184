"""Metric learning on the shop's own catalogue.

Batches hold P labels × K images (labels are variant groups or categories). A label with fewer
than K images repeats them, and augmentation makes the repeats two different views, so products
without any label partner still learn. The loss is supervised contrastive (Khosla et al. 2020)
over all in-batch pairs. A pretrained backbone is first frozen while the head warms up, then its
top layers are fine-tuned at a lower rate; early stopping watches validation Recall@1, and
BackupAndRestore checkpoints every epoch so a killed job resumes where it stopped.
"""

import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .backbones import build_backbone, build_embedding_model, set_backbone_trainable
from .evaluation import retrieval_metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that determines a training run (stored on the model version)."""

    backbone: str = "mobilenet_v2"
    weights: str = "auto"
    input_size: int = 224
    embedding_dim: int = 256
    epochs: int = 10
    warmup_epochs: int = 2  # head-only epochs before fine-tuning a pretrained backbone
    labels_per_batch: int = 8  # P
    images_per_label: int = 4  # K: 32-image batches fit a 2-core CPU and an 8 GB GPU alike
    learning_rate: float = 1e-3
    finetune_learning_rate: float = 1e-4
    finetune_fraction: float = 0.2  # share of backbone layers unfrozen after warm-up
    temperature: float = 0.1  # SupCon paper's value for small batches
    patience: int = 3
    seed: int = 1234
    steps_per_epoch: int | None = None  # default: one pass over the training images

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingResult:
    model: keras.Model  # the embedding model: image in [0, 255] → L2-normalised vector
    weights_used: str
    history: list[dict] = field(default_factory=list)
    best_val_recall_at_1: float | None = None
    seconds: float = 0.0


class TrainingCancelled(Exception):
    """The caller asked to stop (e.g. the admin pressed cancel)."""


ProgressCallback = Callable[[dict], None]


def supervised_contrastive_loss(temperature: float) -> Callable:
    """SupCon loss: y_true (batch,) integer labels, y_pred (batch, d) L2-normalised vectors."""

    def loss(y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        vectors = ops.cast(y_pred, "float32")
        logits = ops.matmul(vectors, ops.transpose(vectors)) / temperature
        size = ops.shape(logits)[0]
        not_self = 1.0 - ops.eye(size)
        positives = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32") * not_self
        # Subtract the row max for numerical stability; it cancels in the log-softmax.
        logits = logits - ops.stop_gradient(ops.max(logits, axis=1, keepdims=True))
        exp_logits = ops.exp(logits) * not_self
        log_prob = logits - ops.log(ops.sum(exp_logits, axis=1, keepdims=True) + 1e-12)
        positive_count = ops.sum(positives, axis=1)
        mean_log_prob = ops.sum(positives * log_prob, axis=1) / ops.maximum(positive_count, 1.0)
        has_positive = ops.cast(positive_count > 0, "float32")
        return -ops.sum(mean_log_prob * has_positive) / ops.maximum(ops.sum(has_positive), 1.0)

    return loss


def pk_batches(
    labels: np.ndarray, *, labels_per_batch: int, images_per_label: int, seed: int
) -> Iterator[np.ndarray]:
    """Endless index batches of P distinct labels × K images (repeating images when short)."""
    rng = np.random.default_rng(seed)
    by_label = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    label_ids = np.array(list(by_label))
    per_batch = min(labels_per_batch, len(label_ids))
    while True:
        chosen = rng.choice(label_ids, size=per_batch, replace=False)
        yield np.concatenate(
            [
                rng.choice(
                    by_label[label],
                    size=images_per_label,
                    replace=len(by_label[label]) < images_per_label,
                )
                for label in chosen
            ]
        )


def augmentation(seed: int) -> keras.Sequential:
    """Random resized crop (zoom + shift), horizontal flip and colour jitter; training only."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomZoom((-0.3, 0.0), fill_mode="constant", fill_value=255.0, seed=seed),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=255.0, seed=seed),
            layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed),
            layers.RandomContrast(0.15, seed=seed),
        ],
        name="augmentation",
    )


def _dataset(images: np.ndarray, labels: np.ndarray, config: TrainingConfig) -> tf.data.Dataset:
    batches = pk_batches(
        labels,
        labels_per_batch=config.labels_per_batch,
        images_per_label=config.images_per_label,
        seed=config.seed,
    )
    size = config.input_size

    def generate():
        for indices in batches:
            yield images[indices].astype(np.float32), labels[indices].astype(np.int32)

    signature = (tf.TensorSpec((None, size, size, 3), tf.float32), tf.TensorSpec((None,), tf.int32))
    return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)


def embed_arrays(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Embed uint8 (n, s, s, 3) images with a Keras embedding model → float32 (n, d)."""
    outputs = [
        np.asarray(model(images[start : start + batch_size].astype(np.float32), training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs).astype(np.float32)


class _ValidationRecall(keras.callbacks.Callback):
    """Adds val_recall_at_1 (leave-one-out on the validation split) to each epoch's logs."""

    def __init__(self, embedding_model, images, labels):
        super().__init__()
        self.embedding_model, self.images, self.labels = embedding_model, images, labels

    def on_epoch_end(self, epoch, logs=None):
        vectors = embed_arrays(self.embedding_model, self.images)
        metrics = retrieval_metrics(vectors, self.labels, vectors, self.labels, exclude_self=True)
        logs["val_recall_at_1"] = metrics.recall_at_1


class _Progress(keras.callbacks.Callback):
    """Reports epoch, loss, images/s and ETA; stops training when cancellation is requested."""

    def __init__(self, report, should_cancel, batch_size, epochs, steps, history_file: Path):
        super().__init__()
        self.report, self.should_cancel = report, should_cancel
        self.batch_size, self.epochs, self.steps = batch_size, epochs, steps
        self.history_file = history_file
        # Epochs finished by an earlier, interrupted attempt stay in the history.
        self.history: list[dict] = (
            json.loads(history_file.read_text()) if history_file.exists() else []
        )
        self.cancelled = False
        self._started = time.monotonic()
        self._images = 0

    def on_train_batch_end(self, batch, logs=None):
        self._images += self.batch_size
        if self.should_cancel and self.should_cancel():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.cancelled:  # Keras still ends the interrupted epoch: it is not a finished one
            return
        elapsed = time.monotonic() - self._started
        rate = self._images / elapsed if elapsed else 0.0
        remaining = (self.epochs - epoch - 1) * self.steps * self.batch_size
        entry = {
            "epoch": epoch + 1,
            "epochs": self.epochs,
            "loss": float(logs.get("loss", 0.0)),
            "val_recall_at_1": logs.get("val_recall_at_1"),
            "images_per_s": round(rate, 1),
            "eta_s": round(remaining / rate) if rate else None,
        }
        self.history = [e for e in self.history if e["epoch"] != entry["epoch"]] + [entry]
        self.history_file.write_text(json.dumps(self.history))
        logger.info(
            "epoch %s/%s loss %.4f val R@1 %s",
            epoch + 1,
            self.epochs,
            entry["loss"],
            entry["val_recall_at_1"],
        )
        if self.report:
            self.report(entry)


def _distribution_strategy() -> tf.distribute.Strategy:
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def train(
    config: TrainingConfig,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    checkpoint_dir: Path,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TrainingResult:
    """Train an embedding model on uint8 (n, s, s, 3) images with integer labels.

    Resumable: rerunning with the same checkpoint_dir continues from the last finished epoch,
    also when a finished run is asked for more epochs (its optimizer state starts afresh then).
    Raises TrainingCancelled when should_cancel() turns true.
    """
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    strategy = _distribution_strategy()
    with strategy.scope():
        backbone = build_backbone(
            config.backbone, input_size=config.input_size, weights=config.weights
        )
        embedding_model = build_embedding_model(backbone, embedding_dim=config.embedding_dim)
        augment = augmentation(config.seed)
    batch_size = config.labels_per_batch * config.images_per_label
    steps = config.steps_per_epoch or max(1, math.ceil(len(images) / batch_size))
    dataset = _dataset(images, labels, config)
    tracker = _Progress(
        progress, should_cancel, batch_size, config.epochs, steps, checkpoint_dir / "history.json"
    )
    phases = _phases(config, backbone.pretrained)
    for number, (first_epoch, last_epoch, top_fraction, rate) in enumerate(phases):
        first_epoch = _resume_epoch(
            embedding_model, checkpoint_dir, number, first_epoch, last_epoch
        )
        if first_epoch >= last_epoch:  # a resumed job skips phases it finished
            continue
        set_backbone_trainable(backbone, top_fraction=top_fraction)
        with strategy.scope():
            # A fresh model per phase: BackupAndRestore leaves the epoch it restored on the
            # model it restored, and the next phase's fit would start at that epoch again.
            training_model = _training_model(embedding_model, augment, config.input_size)
        training_model.compile(
            optimizer=keras.optimizers.Adam(rate),
            loss=supervised_contrastive_loss(config.temperature),
        )
        training_model.fit(
            dataset,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            shuffle=False,  # PK batches are random already
            verbose=0,
            callbacks=[
                _ValidationRecall(embedding_model, val_images, val_labels),
                keras.callbacks.EarlyStopping(
                    monitor="val_recall_at_1",
                    mode="max",
                    patience=config.patience,
                    restore_best_weights=True,
                ),
                keras.callbacks.BackupAndRestore(str(checkpoint_dir / f"backup{number}")),
                tracker,
            ],
        )
        if tracker.cancelled:
            raise TrainingCancelled()
        _mark_phase_finished(
            embedding_model, checkpoint_dir, number, last_epoch, training_model.stop_training
        )
    history = tracker.history
    best = max(
        (e["val_recall_at_1"] for e in history if e.get("val_recall_at_1") is not None),
        default=None,
    )
    return TrainingResult(
        embedding_model, backbone.weights_used, history, best, time.monotonic() - started
    )


def _training_model(
    embedding_model: keras.Model, augment: keras.Sequential, input_size: int
) -> keras.Model:
    """What `fit` trains: augmentation, then the embedding model (which alone is exported)."""
    inputs = keras.Input((input_size, input_size, 3))
    return keras.Model(inputs, embedding_model(augment(inputs)))


def _phase_files(checkpoint_dir: Path, number: int) -> tuple[Path, Path]:
    return checkpoint_dir / f"phase{number}.weights.h5", checkpoint_dir / f"phase{number}.json"


def _resume_epoch(
    embedding_model: keras.Model, checkpoint_dir: Path, number: int, first: int, last: int
) -> int:
    """The epoch a phase starts at; after a phase an earlier run finished, it loads its weights.

    A phase that ran to its end continues from there when the configuration now asks for more
    epochs; one that early stopping ended is done.
    """
    weights_file, state_file = _phase_files(checkpoint_dir, number)
    if not state_file.exists():
        return first
    embedding_model.load_weights(weights_file)
    state = json.loads(state_file.read_text())
    return last if state["stopped_early"] else max(first, state["end_epoch"])


def _mark_phase_finished(
    embedding_model: keras.Model,
    checkpoint_dir: Path,
    number: int,
    end_epoch: int,
    stopped_early: bool,
) -> None:
    weights_file, state_file = _phase_files(checkpoint_dir, number)
    embedding_model.save_weights(weights_file)
    # Written after the weights: the state file is what marks the phase finished.
    state_file.write_text(json.dumps({"end_epoch": end_epoch, "stopped_early": stopped_early}))


def _phases(config: TrainingConfig, pretrained: bool) -> list[tuple[int, int, float, float]]:
    """(first epoch, end epoch, trainable top fraction, learning rate) per phase."""
    if not pretrained:
        return [(0, config.epochs, 1.0, config.learning_rate)]
    warmup = min(config.warmup_epochs, config.epochs)
    phases = [(0, warmup, 0.0, config.learning_rate)]
    if config.epochs > warmup:
        phases.append(
            (warmup, config.epochs, config.finetune_fraction, config.finetune_learning_rate)
        )
    return phases
