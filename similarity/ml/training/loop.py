"""The training loop: build the models, then fit each phase, resuming where a killed job stopped."""

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..backbones import (
    Backbone,
    build_backbone,
    build_embedding_model,
    float32_copy,
    set_backbone_trainable,
)
from .augment import augmentation
from .callbacks import Progress, ValidationRecall
from .config import (
    ProgressCallback,
    TrainingCancelled,
    TrainingConfig,
    TrainingResult,
    Validation,
)
from .data import pk_dataset
from .early_stopping import ResumableEarlyStopping
from .losses import ProxySimilarities, loss_for
from .phases import Rate, mark_phase_finished, phases, resume_epoch

# Keras' recipe on a GPU: float16 compute, float32 variables, loss scaling (compile adds it).
MIXED_PRECISION = "mixed_float16"


def train(
    config: TrainingConfig,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    validation: Validation | None,
    checkpoint_dir: Path,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TrainingResult:
    """Train an embedding model on uint8 (n, s, s, 3) images with integer labels.

    validation=None (the refit on every image) trains config.epochs without early stopping.
    Resumable: rerunning with the same checkpoint_dir continues from the last finished epoch,
    also when a finished run is asked for more epochs (its optimizer state starts afresh then).
    Raises TrainingCancelled when should_cancel() turns true. With a GPU visible the backbone
    trains in mixed precision; the model returned computes in float32 either way, and Keras'
    global dtype policy is left as it was.
    """
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    batch_size = config.labels_per_batch * config.images_per_label
    steps = epoch_steps(config, len(images))
    tracker = Progress(
        progress, should_cancel, batch_size, config.epochs, steps, checkpoint_dir / "history.json"
    )
    # Mixed precision on a GPU (the head stays float32, see build_embedding_model) only while
    # this run builds and trains: the policy is global, and the worker builds other models.
    with _global_policy(MIXED_PRECISION if gpus else None):
        backbone, embedding_model = _fit_phases(
            config, strategy, (images, labels), validation, checkpoint_dir, tracker
        )
    history = tracker.history
    seconds = time.monotonic() - started
    # What is exported and served computes in float32 (TFLite has no float16 convolutions).
    model = float32_copy(embedding_model)
    return TrainingResult(model, backbone.weights_used, history, _best(history), seconds)


def _fit_phases(
    config: TrainingConfig,
    strategy: tf.distribute.Strategy,
    data: tuple[np.ndarray, np.ndarray],
    validation: Validation | None,
    checkpoint_dir: Path,
    tracker: Progress,
) -> tuple[Backbone, keras.Model]:
    """Build the models and fit each phase that an earlier run did not finish."""
    images, labels = data
    backbone, embedding_model, augment = _build_models(config, strategy)
    labels_count = int(labels.max()) + 1
    dataset = pk_dataset(images, labels, config)
    for number, (first_epoch, last_epoch, top_fraction, rate) in enumerate(
        phases(config, backbone.pretrained, steps_per_epoch=tracker.steps)
    ):
        first_epoch = resume_epoch(embedding_model, checkpoint_dir, number, first_epoch, last_epoch)
        if first_epoch >= last_epoch:  # a resumed job skips phases it finished
            continue
        set_backbone_trainable(backbone, top_fraction=top_fraction)
        model = _training_model(strategy, embedding_model, augment, config, rate, labels_count)
        stopper = _early_stopping(config, validation, checkpoint_dir, number)
        callbacks = [
            *_validation_callbacks(embedding_model, validation, stopper),
            _backup(checkpoint_dir / f"backup{number}"),
            tracker,
        ]
        stopped = _fit_phase(model, dataset, (first_epoch, last_epoch), callbacks, tracker, stopper)
        mark_phase_finished(embedding_model, checkpoint_dir, number, last_epoch, stopped)
    return backbone, embedding_model


def _fit_phase(
    model: keras.Model,
    dataset: tf.data.Dataset,
    epochs: tuple[int, int],
    callbacks: list[keras.callbacks.Callback],
    tracker: Progress,
    stopper: ResumableEarlyStopping | None,
) -> bool:
    """Fit one phase from its first to its end epoch; True when early stopping ended it."""
    best = stopper.stopped_weights() if stopper is not None else None
    if best is not None:
        # The worker was killed after early stopping ended this phase, before the phase was
        # marked finished: it ends with the best weights, without another epoch.
        model.set_weights(best)
        return True
    model.fit(
        dataset,
        epochs=epochs[1],
        initial_epoch=epochs[0],
        steps_per_epoch=tracker.steps,
        shuffle=False,  # PK batches are random already
        verbose=0,
        callbacks=callbacks,
    )
    if tracker.cancelled:
        raise TrainingCancelled()
    return model.stop_training


@contextmanager
def _global_policy(name: str | None) -> Iterator[None]:
    """Keras' global dtype policy set to `name` (None: left as it is) until the block ends,
    also when it raises (a cancelled, killed or failed run)."""
    previous = keras.mixed_precision.global_policy()
    if name is not None:
        keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build_models(
    config: TrainingConfig, strategy: tf.distribute.Strategy
) -> tuple[Backbone, keras.Model, keras.Sequential]:
    """The backbone, the embedding model on it, and the augmentation, in the strategy's scope."""
    with strategy.scope():
        backbone = build_backbone(
            config.backbone, input_size=config.input_size, weights=config.weights
        )
        embedding_model = build_embedding_model(backbone, embedding_dim=config.embedding_dim)
        augment = augmentation(config.seed, config.augmentation)
    return backbone, embedding_model, augment


def _training_model(
    strategy: tf.distribute.Strategy,
    embedding_model: keras.Model,
    augment: keras.Sequential,
    config: TrainingConfig,
    rate: Rate,
    labels_count: int,
) -> keras.Model:
    """What `fit` trains, compiled: augmentation, then the embedding model (alone exported);
    for proxy-anchor, the proxies' cosines are appended to the output (the training model
    owns the proxies)."""
    with strategy.scope():
        # A fresh model per phase: BackupAndRestore leaves the epoch it restored on the
        # model it restored, and the next phase's fit would start at that epoch again.
        inputs = keras.Input((config.input_size, config.input_size, 3))
        outputs = embedding_model(augment(inputs))
        if config.loss == "proxy_anchor":
            # float32 like the head: the loss takes exp(32 * cosine), which float16's
            # rounding of the cosines (about 5e-4) would move by about 2 %.
            outputs = ProxySimilarities(labels_count, name="proxies", dtype="float32")(outputs)
        training_model = keras.Model(inputs, outputs)
    training_model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=loss_for(config.loss, temperature=config.temperature, labels_count=labels_count),
    )
    return training_model


def _backup(directory: Path) -> keras.callbacks.Callback:
    # A worker killed while it writes the backup leaves a truncated file: keep the previous
    # one to resume from instead (tests/faults/test_reaper.py).
    return keras.callbacks.BackupAndRestore(str(directory), double_checkpoint=True)


def _early_stopping(
    config: TrainingConfig, validation: Validation | None, checkpoint_dir: Path, number: int
) -> ResumableEarlyStopping | None:
    """Early stopping on validation Recall@1, its state kept per phase in the checkpoint
    folder; none without validation (the refit trains its configured epochs)."""
    if validation is None:
        return None
    return ResumableEarlyStopping(
        checkpoint_dir, f"early_stopping{number}", patience=config.patience
    )


def _validation_callbacks(
    embedding_model: keras.Model,
    validation: Validation | None,
    stopper: ResumableEarlyStopping | None,
) -> list[keras.callbacks.Callback]:
    """Validation Recall@1 per epoch and early stopping on it (before the backup, which the
    stopper's state must never lag); none without validation."""
    if validation is None or stopper is None:
        return []
    return [ValidationRecall(embedding_model, validation), stopper]


def _best(history: list[dict]) -> float | None:
    """The best validation Recall@1 of any epoch, None when no epoch measured it."""
    return max(
        (e["val_recall_at_1"] for e in history if e.get("val_recall_at_1") is not None),
        default=None,
    )


def epoch_steps(config: TrainingConfig, images: int) -> int:
    """Batches per epoch: the configured number, else one pass over the images, but at least
    `min_epoch_images` of them (a small catalogue's photos repeat, augmented anew)."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    batch_size = config.labels_per_batch * config.images_per_label
    return max(1, math.ceil(max(images, config.min_epoch_images) / batch_size))
