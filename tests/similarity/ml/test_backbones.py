"""similarity.ml.backbones: every backbone builds offline; weights load, or fail precisely."""

import logging

import keras
import numpy as np
import pytest
from keras import layers

from similarity.ml import backbones
from similarity.ml.backbones import (
    ERROR_IMAGENET_UNAVAILABLE,
    ERROR_WEIGHTS_FILE,
    WARNING_RANDOM_INIT,
    Backbone,
    WeightsUnavailable,
    build_backbone,
    build_embedding_model,
    set_backbone_trainable,
)
from similarity.ml.options import BACKBONES

# Keras' .weights.h5 writer converts each variable with np.array(x), which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32  # the smallest input keras.applications accepts ("must be at least 32x32")
OFFLINE_REASON = "ConnectionError: PRODSIM_OFFLINE is set"


def pixels(count: int, *, seed: int = 0) -> np.ndarray:
    """(count, SIZE, SIZE, 3) float32 with uint8 values, as `preprocessing.load_image` gives."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, SIZE, SIZE, 3)).astype(np.float32)


def inner_model(backbone: Backbone) -> keras.Model:
    """The keras.applications model inside the MobileNetV2 scaling wrapper."""
    [inner] = [layer for layer in backbone.model.layers if isinstance(layer, keras.Model)]
    return inner


@pytest.fixture(scope="module")
def mobilenet_v2_weights(tmp_path_factory):
    """A MobileNetV2 weights file whose features are large and differ between images.

    Randomly initialised MobileNetV2 at 32 px pools to features of about 1e-12, which any
    two models would "match"; a BatchNormalization offset and a small variance fix that.
    """
    keras.utils.set_random_seed(5)
    source = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3), pooling="avg"
    )
    rng = np.random.default_rng(5)
    for layer in source.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.beta.assign(rng.uniform(-0.2, 0.2, layer.beta.shape).astype("float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 0.1, "float32"))
    path = tmp_path_factory.mktemp("weights") / "w.weights.h5"
    source.save_weights(path)
    return source, path


@pytest.mark.parametrize(
    ("name", "weights_used"),
    [
        ("mobilenet_v2", "none (random initialisation)"),
        ("mobilenet_v3_small", "none (random initialisation)"),
        ("efficientnet_b0", "none (random initialisation)"),
        ("small_cnn", "none (small CNN, trained from scratch)"),
    ],
)
def test_each_backbone_embeds_raw_pixels_as_unit_vectors(name, weights_used):
    # given a backbone built without any download
    backbone = build_backbone(name, input_size=SIZE, weights="none")
    model = build_embedding_model(backbone, embedding_dim=8)

    # when raw [0, 255] pixels are embedded
    vectors = np.asarray(model(pixels(3), training=False))

    # then each image gives one finite 8-d unit vector
    assert vectors.shape == (3, 8)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert backbone.weights_used == weights_used
    assert backbone.pretrained is False


def test_the_parametrized_backbones_are_all_the_options():
    assert BACKBONES == ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "small_cnn")


def test_a_missing_weights_file_is_refused(tmp_path):
    path = tmp_path / "absent.weights.h5"

    with pytest.raises(WeightsUnavailable) as raised:
        build_backbone("mobilenet_v2", input_size=SIZE, weights=str(path))

    assert str(raised.value) == ERROR_WEIGHTS_FILE.format(path=path)


def test_imagenet_weights_offline_are_refused(monkeypatch):
    monkeypatch.setenv("PRODSIM_OFFLINE", "1")

    with pytest.raises(WeightsUnavailable) as raised:
        build_backbone("mobilenet_v2", input_size=SIZE, weights="imagenet")

    message = str(raised.value)
    assert message.startswith("ImageNet weights for mobilenet_v2 could not be obtained")
    assert message == ERROR_IMAGENET_UNAVAILABLE.format(name="mobilenet_v2", reason=OFFLINE_REASON)


def test_auto_weights_offline_fall_back_to_random_initialisation_with_a_warning(
    monkeypatch, caplog
):
    monkeypatch.setenv("PRODSIM_OFFLINE", "1")

    with caplog.at_level(logging.WARNING, logger="similarity.ml.backbones"):
        backbone = build_backbone("mobilenet_v2", input_size=SIZE, weights="auto")

    assert backbone.weights_used.startswith("none (random initialisation: imagenet unavailable")
    assert backbone.weights_used == (
        f"none (random initialisation: imagenet unavailable: {OFFLINE_REASON})"
    )
    assert backbone.pretrained is False
    records = [r for r in caplog.records if r.name == "similarity.ml.backbones"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, WARNING_RANDOM_INIT.format(name="mobilenet_v2", reason=OFFLINE_REASON))
    ]
    assert "training continues from random initialisation" in records[0].getMessage()


def test_a_weights_file_is_loaded_into_the_backbone(mobilenet_v2_weights):
    source, path = mobilenet_v2_weights

    backbone = build_backbone("mobilenet_v2", input_size=SIZE, weights=str(path))

    assert backbone.weights_used == f"file {path}"
    assert backbone.pretrained is True
    images = pixels(3)
    # The backbone scales [0, 255] to MobileNetV2's [-1, 1] itself; the saved model does not.
    expected = np.asarray(source(images / 127.5 - 1.0, training=False))
    features = np.asarray(backbone.model(images, training=False))
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
    # The comparison means something: the features are large and depend on the image ...
    assert np.abs(features).mean() > 0.1
    assert np.abs(features[0] - features[1]).max() > 0.01
    # ... and random initialisation gives other ones.
    fresh = build_backbone("mobilenet_v2", input_size=SIZE, weights="none")
    assert np.abs(np.asarray(fresh.model(images, training=False)) - features).max() > 0.1


def test_a_frozen_pretrained_backbone_trains_nothing(mobilenet_v2_weights):
    backbone = build_backbone("mobilenet_v2", input_size=SIZE, weights=str(mobilenet_v2_weights[1]))

    set_backbone_trainable(backbone, top_fraction=0.0)

    assert backbone.model.trainable_weights == []
    assert len(backbone.model.non_trainable_weights) == len(backbone.model.weights) > 0


def test_fine_tuning_a_pretrained_backbone_unfreezes_its_top_but_never_batch_norm(
    mobilenet_v2_weights,
):
    backbone = build_backbone("mobilenet_v2", input_size=SIZE, weights=str(mobilenet_v2_weights[1]))

    set_backbone_trainable(backbone, top_fraction=0.2)

    inner = inner_model(backbone).layers
    top = len(inner) - round(len(inner) * 0.2)
    trainable = [layer.name for layer in inner if layer.trainable]
    assert trainable == [
        layer.name for layer in inner[top:] if not isinstance(layer, layers.BatchNormalization)
    ]
    assert all(
        not layer.trainable for layer in inner if isinstance(layer, layers.BatchNormalization)
    )
    assert 0 < len(backbone.model.trainable_weights) < len(backbone.model.weights)
    # The last convolution learns, the first one and every normalisation do not.
    trainable_paths = {weight.path for weight in backbone.model.trainable_weights}
    assert "Conv_1/kernel" in trainable_paths
    assert "Conv1/kernel" not in trainable_paths
    assert not any(path.endswith(("/gamma", "/beta")) for path in trainable_paths)


def test_a_randomly_initialised_backbone_trains_everything_including_batch_norm():
    backbone = build_backbone("small_cnn", input_size=SIZE, weights="none")

    set_backbone_trainable(backbone, top_fraction=1.0)

    norms = [
        layer for layer in backbone.model.layers if isinstance(layer, layers.BatchNormalization)
    ]
    assert len(norms) == 4
    assert all(layer.trainable for layer in norms)
    assert all(layer.trainable for layer in backbone.model.layers)
    # Only the moving statistics stay out of the gradient.
    untrained = sorted(weight.name for weight in backbone.model.non_trainable_weights)
    assert untrained == ["moving_mean"] * 4 + ["moving_variance"] * 4


def test_an_unknown_backbone_is_refused():
    with pytest.raises(ValueError) as raised:
        build_backbone("resnet50", input_size=SIZE, weights="none")

    assert str(raised.value) == (
        "unknown backbone 'resnet50'; choose one of: "
        "mobilenet_v2, mobilenet_v3_small, efficientnet_b0, small_cnn"
    )


@pytest.mark.parametrize(
    ("value", "offline"),
    [("1", True), ("true", True), ("Yes", True), ("0", False), ("false", False), ("", False)],
)
def test_prodsim_offline_is_read_as_a_boolean(monkeypatch, value, offline):
    # "false" meant offline while any non-empty value did: imagenet weights were then refused.
    monkeypatch.setenv("PRODSIM_OFFLINE", value)

    assert backbones._offline() is offline


def test_a_prodsim_offline_that_is_not_a_boolean_says_so(monkeypatch):
    monkeypatch.setenv("PRODSIM_OFFLINE", "sometimes")

    with pytest.raises(ValueError, match="PRODSIM_OFFLINE must be a boolean"):
        backbones._offline()


def test_a_misspelt_prodsim_offline_fails_instead_of_training_from_random_weights(monkeypatch):
    # Raised inside the download's catch-all it read as "imagenet unavailable": `auto` then
    # trained from random initialisation on a machine that could download the weights.
    monkeypatch.setenv("PRODSIM_OFFLINE", "maybe")
    # A machine that can download them: any weights asked for are there.
    monkeypatch.setattr(backbones, "_application", lambda _, shape, __: backbones._small_cnn(shape))

    with pytest.raises(ValueError, match="PRODSIM_OFFLINE must be a boolean"):
        build_backbone("mobilenet_v2", input_size=SIZE, weights="auto")
