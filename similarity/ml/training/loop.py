"""The training loop: build the models, then fit each phase, resuming where a killed job stopped."""

import math
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..backbones import Backbone, build_backbone, build_embedding_model, set_backbone_trainable
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
from .losses import ProxySimilarities, loss_for
from .phases import Rate, mark_phase_finished, phases, resume_epoch


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
    Raises TrainingCancelled when should_cancel() turns true.
    """
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    strategy = _distribution_strategy()
    backbone, embedding_model, augment = _build_models(config, strategy)
    labels_count = int(labels.max()) + 1
    batch_size = config.labels_per_batch * config.images_per_label
    steps = epoch_steps(config, len(images))
    dataset = pk_dataset(images, labels, config)
    tracker = Progress(
        progress, should_cancel, batch_size, config.epochs, steps, checkpoint_dir / "history.json"
    )
    for number, (first_epoch, last_epoch, top_fraction, rate) in enumerate(
        phases(config, backbone.pretrained, steps_per_epoch=steps)
    ):
        first_epoch = resume_epoch(embedding_model, checkpoint_dir, number, first_epoch, last_epoch)
        if first_epoch >= last_epoch:  # a resumed job skips phases it finished
            continue
        set_backbone_trainable(backbone, top_fraction=top_fraction)
        model = _training_model(strategy, embedding_model, augment, config, rate, labels_count)
        model.fit(
            dataset,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            shuffle=False,  # PK batches are random already
            verbose=0,
            callbacks=[
                *_validation_callbacks(config, embedding_model, validation),
                _backup(checkpoint_dir / f"backup{number}"),
                tracker,
            ],
        )
        if tracker.cancelled:
            raise TrainingCancelled()
        mark_phase_finished(
            embedding_model, checkpoint_dir, number, last_epoch, model.stop_training
        )
    history = tracker.history
    seconds = time.monotonic() - started
    return TrainingResult(embedding_model, backbone.weights_used, history, _best(history), seconds)


def _distribution_strategy() -> tf.distribute.Strategy:
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


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
            outputs = ProxySimilarities(labels_count, name="proxies")(outputs)
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


def _validation_callbacks(
    config: TrainingConfig, embedding_model: keras.Model, validation: Validation | None
) -> list[keras.callbacks.Callback]:
    """Validation Recall@1 per epoch and early stopping on it; none without validation."""
    if validation is None:
        return []
    return [
        ValidationRecall(embedding_model, validation),
        keras.callbacks.EarlyStopping(
            monitor="val_recall_at_1",
            mode="max",
            patience=config.patience,
            restore_best_weights=True,
        ),
    ]


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
