"""Train the text tower into a version's image-embedding space (cross-modal similarity).

Locked-image tuning (LiT, Zhai et al. 2022): the image vectors of a trained version stay fixed,
and a small text encoder learns, with a symmetric contrastive (CLIP-style InfoNCE) loss over
in-batch pairs, to put each product's text next to its own image vector. Text and images then
share one space: a query like "red striped mug" is encoded and searched among image vectors.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from .text_encoder import SEQUENCE_LENGTH, TEXT_TOWER_FILE, VOCABULARY, TextEncoder, tokenise_batch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextTowerConfig:
    token_dim: int = 128
    hidden_dim: int = 256
    epochs: int = 30
    batch_size: int = 64  # in-batch negatives: more is better until the catalogue runs out
    learning_rate: float = 2e-3
    temperature: float = 0.05  # CLIP's learned temperature settles near 0.01–0.07
    seed: int = 1234


class MaskedMean(layers.Layer):
    """Mean of token embeddings over non-padding positions (token id 0 is padding)."""

    def call(self, embedded, ids):
        mask = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), embedded.dtype), -1)
        return ops.sum(embedded * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)


def build_text_tower(config: TextTowerConfig, embedding_dim: int) -> keras.Model:
    ids = keras.Input((SEQUENCE_LENGTH,), dtype="int32", name="token_ids")
    embedded = layers.Embedding(VOCABULARY, config.token_dim, name="embeddings")(ids)
    pooled = MaskedMean()(embedded, ids)
    hidden = layers.Dense(config.hidden_dim, activation="relu", name="hidden")(pooled)
    output = layers.Dense(embedding_dim, name="output")(hidden)
    return keras.Model(ids, layers.UnitNormalization()(output), name="text_tower")


def _contrastive_loss(text_vectors, image_vectors, temperature: float):
    logits = ops.matmul(text_vectors, ops.transpose(image_vectors)) / temperature
    targets = ops.arange(ops.shape(logits)[0])
    text_to_image = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    image_to_text = keras.losses.sparse_categorical_crossentropy(
        targets, ops.transpose(logits), from_logits=True
    )
    return (ops.mean(text_to_image) + ops.mean(image_to_text)) / 2


def train_text_tower(
    texts: list[str], image_vectors: np.ndarray, config: TextTowerConfig = TextTowerConfig()
) -> tuple[keras.Model, list[float]]:
    """Fit a text tower so tower(texts[i]) ≈ image_vectors[i] (unit vectors, (n, d) float32).

    Returns the model and the mean loss per epoch.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    model = build_text_tower(config, image_vectors.shape[1])
    optimizer = keras.optimizers.Adam(config.learning_rate)
    ids = tokenise_batch(texts)
    targets = image_vectors.astype(np.float32)

    @tf.function
    def step(batch_ids, batch_images):
        with tf.GradientTape() as tape:
            loss = _contrastive_loss(
                model(batch_ids, training=True), batch_images, config.temperature
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    rng = np.random.default_rng(config.seed)
    history = []
    for _ in range(config.epochs):
        order = rng.permutation(len(ids))
        losses = [
            float(step(ids[batch], targets[batch]))
            for batch in np.array_split(order, max(1, len(order) // config.batch_size))
            if len(batch) > 1
        ]
        history.append(float(np.mean(losses)))
    logger.info(
        "text tower: loss %.4f → %.4f over %s epochs", history[0], history[-1], config.epochs
    )
    return model, history


def export_text_tower(model: keras.Model, directory: Path) -> TextEncoder:
    """Write text_tower.npz (the NumPy encoder's weights) and return that encoder."""
    weights = {
        "embeddings": model.get_layer("embeddings").get_weights()[0],
        "hidden_kernel": model.get_layer("hidden").get_weights()[0],
        "hidden_bias": model.get_layer("hidden").get_weights()[1],
        "output_kernel": model.get_layer("output").get_weights()[0],
        "output_bias": model.get_layer("output").get_weights()[1],
    }
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / TEXT_TOWER_FILE, **weights)
    return TextEncoder(weights)
