"""similarity.ml.side_by_side: models served as one, their unit vectors side by side."""

import keras
import numpy as np
import pytest

from similarity.ml.backbones import build_backbone, build_embedding_model, float32_copy
from similarity.ml.embedder import load_embedder
from similarity.ml.export import export_model
from similarity.ml.side_by_side import member_seed, side_by_side

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32
DIM = 8


def member(seed: int, *, policy: str = "float32") -> keras.Model:
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(policy)
    try:
        backbone = build_backbone("small_cnn", input_size=SIZE, weights="none")
        return build_embedding_model(backbone, embedding_dim=DIM)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def images(count: int) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)


def vectors(model: keras.Model, pixels: np.ndarray) -> np.ndarray:
    return np.asarray(model(pixels.astype(np.float32), training=False), np.float64)


def test_a_cosine_between_joined_vectors_is_the_mean_of_the_members_cosines():
    first, second = member(1), member(2)
    pixels = images(6)

    joined = vectors(side_by_side([first, second]), pixels)

    assert joined.shape == (6, 2 * DIM)
    np.testing.assert_allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)
    a, b = vectors(first, pixels), vectors(second, pixels)
    np.testing.assert_allclose(joined @ joined.T, (a @ a.T + b @ b.T) / 2, atol=1e-5)
    # Each member's part is its own vector, scaled: the members are not averaged together.
    np.testing.assert_allclose(joined[:, :DIM] * np.sqrt(2), a, atol=1e-5)


def test_one_member_is_served_as_it_is():
    only = member(1)

    assert side_by_side([only]) is only


def test_three_members_still_make_unit_vectors():
    joined = vectors(side_by_side([member(1), member(2), member(3)]), images(3))

    assert joined.shape == (3, 3 * DIM)
    np.testing.assert_allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)


def test_the_joined_model_exports_and_its_tflite_and_keras_files_agree(tmp_path):
    model = side_by_side([member(1), member(2)])
    pixels = images(4)

    written = export_model(model, directory=tmp_path, metadata={}, check_images=pixels)

    assert written["tflite_max_abs_difference"] < 1e-3
    served = load_embedder(tmp_path).embed(pixels)
    assert served.shape == (4, 2 * DIM)
    np.testing.assert_allclose(served, vectors(model, pixels), atol=1e-3)
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(vectors(reloaded, pixels), vectors(model, pixels), atol=1e-6)


def test_members_built_under_mixed_precision_are_exported_in_float32():
    model = side_by_side([member(1, policy="mixed_float16"), member(2, policy="mixed_float16")])
    pixels = images(3)

    copy = float32_copy(model)

    assert copy is not model
    assert copy.output.dtype == "float32"
    np.testing.assert_allclose(vectors(copy, pixels), vectors(model, pixels), atol=1e-2)


def test_members_train_from_their_own_seeds_the_first_from_the_configured_one():
    assert [member_seed(1234, index) for index in range(3)] == [1234, 1235, 1236]
