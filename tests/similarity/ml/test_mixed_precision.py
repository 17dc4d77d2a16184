"""Training on a GPU (mixed precision) without one: tf.config reports a GPU, the CPU computes.

What the GPU path must keep: a float32 head and a float32 model to export and serve, and
Keras' global dtype policy as it found it (the worker builds other models afterwards).
"""

from dataclasses import replace

import keras
import numpy as np
import pytest

from similarity.ml.backbones import build_backbone, build_embedding_model, float32_copy
from similarity.ml.export import TFLITE_TOLERANCE, export_model
from similarity.ml.training import TrainingCancelled, TrainingConfig, embed_arrays, train

# Keras' .weights.h5 writer converts each variable with np.array(x), which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32
TINY_CONFIG = TrainingConfig(
    backbone="small_cnn",
    weights="none",
    input_size=SIZE,
    embedding_dim=8,
    epochs=1,
    labels_per_batch=2,
    images_per_label=2,
    steps_per_epoch=2,
)


def noise_set() -> tuple[np.ndarray, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 256, (16, SIZE, SIZE, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(4), 4)


@pytest.fixture
def one_gpu(monkeypatch):
    """loop.train sees one GPU (so it trains under mixed_float16); the CPU runs it."""
    import tensorflow as tf

    real = tf.config.list_logical_devices
    monkeypatch.setattr(
        tf.config,
        "list_logical_devices",
        lambda kind=None: ["/device:GPU:0"] if kind == "GPU" else real(kind),
    )
    yield
    keras.mixed_precision.set_global_policy("float32")  # whatever a failing test left behind


def policies(model: keras.Model) -> set[str]:
    found = set()
    for layer in model.layers:
        found.add(layer.dtype_policy.name)
        if isinstance(layer, keras.Model):
            found |= policies(layer)
    return found


def mixed_embedding_model() -> keras.Model:
    """The small CNN's embedding model as a GPU worker builds it (under mixed_float16)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        backbone = build_backbone("small_cnn", input_size=SIZE, weights="none")
        return build_embedding_model(backbone, embedding_dim=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_the_gpu_path_trains_mixed_and_returns_a_float32_model_leaving_the_policy(
    one_gpu, tmp_path
):
    images, labels = noise_set()
    during = []

    result = train(
        TINY_CONFIG,
        images=images,
        labels=labels,
        validation=None,
        checkpoint_dir=tmp_path,
        progress=lambda entry: during.append(keras.mixed_precision.global_policy().name),
    )

    assert during == ["mixed_float16"]  # the backbone trained in float16
    assert keras.mixed_precision.global_policy().name == "float32"  # and nothing leaked
    assert policies(result.model) == {"float32"}  # what is exported and served
    assert str(result.model.output.dtype) == "float32"
    vectors = embed_arrays(result.model, images)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(result.history[0]["loss"])


def test_a_model_trained_on_the_gpu_path_exports_and_its_tflite_agrees(one_gpu, tmp_path):
    images, labels = noise_set()
    result = train(
        TINY_CONFIG, images=images, labels=labels, validation=None, checkpoint_dir=tmp_path / "c"
    )

    written = export_model(
        result.model, directory=tmp_path / "x", metadata={}, check_images=images[:8]
    )

    assert written["files"] == ["model.keras", "model.tflite"]
    assert 0.0 <= written["tflite_max_abs_difference"] <= TFLITE_TOLERANCE


def test_a_cancelled_gpu_run_also_puts_the_policy_back(one_gpu, tmp_path):
    images, labels = noise_set()

    with pytest.raises(TrainingCancelled):
        train(
            replace(TINY_CONFIG, loss="proxy_anchor"),
            images=images,
            labels=labels,
            validation=None,
            checkpoint_dir=tmp_path,
            should_cancel=lambda: True,
        )

    assert keras.mixed_precision.global_policy().name == "float32"


def test_the_head_stays_float32_and_the_float32_copy_keeps_the_weights():
    mixed = mixed_embedding_model()
    images = noise_set()[0][:4].astype(np.float32)

    copy = float32_copy(mixed)

    assert mixed.get_layer("projection").dtype_policy.name == "float32"
    assert mixed.get_layer("l2_normalise").dtype_policy.name == "float32"
    assert policies(mixed.get_layer("small_cnn")) == {"mixed_float16"}
    assert policies(copy) == {"float32"}
    for kept, original in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, original)
    # float16 convolutions round to about 1e-3; the unit vectors still agree that far
    np.testing.assert_allclose(np.asarray(copy(images)), np.asarray(mixed(images)), atol=1e-2)
    assert float32_copy(copy) is copy  # a float32 model is exported as it is


def test_a_model_built_under_mixed_precision_is_exported_in_float32(tmp_path):
    mixed = mixed_embedding_model()

    written = export_model(mixed, directory=tmp_path, metadata={}, check_images=noise_set()[0][:4])

    assert written["tflite_max_abs_difference"] <= TFLITE_TOLERANCE
    assert policies(keras.saving.load_model(tmp_path / "model.keras")) == {"float32"}
