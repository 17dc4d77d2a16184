"""similarity.ml.export and .embedder: the exported artifacts reproduce the Keras model."""

import json
import shutil

import keras
import numpy as np
import pytest

from similarity.ml import embedder as embedder_module
from similarity.ml.backbones import build_backbone, build_embedding_model
from similarity.ml.embedder import KerasEmbedder, TfliteEmbedder, embed_in_batches, load_embedder
from similarity.ml.export import ExportMismatch, export_model, read_metadata

# Keras' .weights.h5 writer converts each variable with np.array(x), which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32
DIM = 8
METADATA = {"backbone": "small_cnn", "embedding_dim": DIM, "input_size": SIZE}


def images(count: int, *, seed: int = 0) -> np.ndarray:
    """uint8 (count, SIZE, SIZE, 3) images: what preprocessing hands the embedders."""
    return np.random.default_rng(seed).integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)


def small_model() -> keras.Model:
    keras.utils.set_random_seed(3)
    backbone = build_backbone("small_cnn", input_size=SIZE, weights="none")
    return build_embedding_model(backbone, embedding_dim=DIM)


def keras_vectors(model: keras.Model, pixels: np.ndarray) -> np.ndarray:
    return np.asarray(model(pixels.astype(np.float32), training=False))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random small-CNN embedding model exported once: (model, directory, metadata)."""
    model = small_model()
    directory = tmp_path_factory.mktemp("export") / "version"
    written = export_model(model, directory=directory, metadata=METADATA, check_images=images(4))
    return model, directory, written


def test_export_writes_the_three_files_and_the_metadata(exported):
    _, directory, written = exported

    assert sorted(path.name for path in directory.iterdir()) == [
        "metadata.json",
        "model.keras",
        "model.tflite",
    ]
    difference = written["tflite_max_abs_difference"]
    assert 0.0 <= difference < 1e-3
    assert written == {
        **METADATA,
        "tflite_max_abs_difference": difference,
        "files": ["model.keras", "model.tflite"],
    }
    assert json.loads((directory / "metadata.json").read_text()) == written
    assert read_metadata(directory) == written


def test_the_tflite_embedder_reproduces_the_keras_vectors(exported):
    model, directory, _ = exported
    pixels = images(5, seed=1)

    embedder = load_embedder(directory)
    vectors = embedder.embed(pixels)

    assert isinstance(embedder, TfliteEmbedder)
    assert embedder.dimension == DIM
    assert vectors.dtype == np.float32
    assert vectors.shape == (5, DIM)
    np.testing.assert_allclose(vectors, keras_vectors(model, pixels), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Not vacuous: the images get different vectors.
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3


def test_without_a_tflite_file_the_keras_embedder_gives_the_same_vectors(exported, tmp_path):
    model, directory, _ = exported
    keras_only = tmp_path / "keras_only"
    keras_only.mkdir()
    shutil.copy(directory / "model.keras", keras_only / "model.keras")
    pixels = images(5, seed=1)

    embedder = load_embedder(keras_only)
    vectors = embedder.embed(pixels)

    assert isinstance(embedder, KerasEmbedder)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, keras_vectors(model, pixels), atol=1e-6)
    np.testing.assert_allclose(vectors, load_embedder(directory).embed(pixels), atol=1e-4)


def test_embedding_in_batches_equals_one_call(exported):
    _, directory, _ = exported
    embedder = load_embedder(directory)
    pixels = images(5, seed=2)

    batched = embed_in_batches(embedder, pixels, batch_size=2)

    np.testing.assert_allclose(batched, embedder.embed(pixels), atol=1e-6)
    assert batched.shape == (5, DIM)
    assert embedder.embed(pixels[:0]).shape == (0, DIM)


def test_export_refuses_a_tflite_artifact_that_differs_from_keras(tmp_path, monkeypatch):
    # given a TFLite runtime that returns garbage (all zeros)
    def garbage(self, pixels):
        return np.zeros((len(pixels), DIM), dtype=np.float32)

    monkeypatch.setattr(embedder_module.TfliteEmbedder, "embed", garbage)
    model = small_model()
    check_images = images(3)
    expected_difference = float(np.max(np.abs(keras_vectors(model, check_images))))

    # when the model is exported
    with pytest.raises(ExportMismatch) as raised:
        export_model(model, directory=tmp_path, metadata=METADATA, check_images=check_images)

    # then the export is refused, says by how much, and writes no metadata
    assert str(raised.value) == f"TFLite differs from Keras by {expected_difference:.2e}"
    assert expected_difference > 1e-3
    assert not (tmp_path / "metadata.json").exists()
