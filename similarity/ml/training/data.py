"""What the model sees: P×K index batches, and batched embedding."""

from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from ..evaluation.label_runs import LabelRuns
from .config import TrainingConfig


def pk_batches(
    labels: np.ndarray, *, labels_per_batch: int, images_per_label: int, seed: int
) -> Iterator[np.ndarray]:
    """Endless index batches of P distinct labels × K images (repeating images when short)."""
    rng = np.random.default_rng(seed)
    runs = LabelRuns.of(labels)  # grouped once: a scan per label was quadratic in the labels
    per_batch = min(labels_per_batch, len(runs.ids))
    while True:
        # Drawing positions in runs.ids draws the same random numbers as drawing the ids did.
        chosen = rng.choice(len(runs.ids), size=per_batch, replace=False)
        yield np.concatenate(
            [
                rng.choice(members, size=images_per_label, replace=len(members) < images_per_label)
                for members in map(runs.members, chosen)
            ]
        )


def pk_dataset(images: np.ndarray, labels: np.ndarray, config: TrainingConfig) -> tf.data.Dataset:
    """The endless P×K batches as (float32 images, int32 labels), prefetched two ahead."""
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
    """Embed uint8 (n, s, s, 3) images with a Keras embedding model → float32 (n, d); no
    images give an empty (0, d) array (a split a small catalogue leaves empty), not an error."""
    if not len(images):
        return np.zeros((0, _output_dim(model, images)), np.float32)
    outputs = [
        np.asarray(model(images[start : start + batch_size].astype(np.float32), training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs).astype(np.float32)


def _output_dim(model, images: np.ndarray) -> int:
    """d without embedding anything where the model declares it; otherwise (a wrapped exported
    artifact) from one blank image, as a Keras model refuses an empty batch."""
    shape = getattr(model, "output_shape", None)
    if shape is not None:
        return int(shape[-1])
    blank = np.zeros((1, *images.shape[1:]), np.float32)
    return int(np.asarray(model(blank, training=False)).shape[-1])
