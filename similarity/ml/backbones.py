"""CNN backbones and the embedding model built on them.

A backbone maps a (size, size, 3) float32 image with values in [0, 255] to a pooled feature
vector; the embedding model adds a dense projection and L2 normalisation. Each backbone owns its
pixel scaling, so every caller feeds raw RGB values (from `preprocessing.load_image`).
"""

import logging
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

from .options import BACKBONES

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 20  # an offline machine fails fast instead of hanging on the download
BATCH_NORM_MOMENTUM = 0.9  # for networks trained from scratch (see _settle_batch_norm_faster)

ERROR_UNKNOWN_BACKBONE = "unknown backbone {name!r}; choose one of: {choices}"
ERROR_WEIGHTS_FILE = "weights file {path} does not exist"
ERROR_IMAGENET_UNAVAILABLE = (
    "ImageNet weights for {name} could not be obtained ({reason}). Use weights='auto' to train "
    "from random initialisation, or a path to a local .weights.h5 file."
)
WARNING_RANDOM_INIT = (
    "ImageNet weights for {name} could not be obtained ({reason}); training continues from "
    "random initialisation because weights='auto'."
)


class WeightsUnavailable(RuntimeError):
    """The configured pretrained weights cannot be loaded and no fallback is allowed."""


@dataclass(frozen=True)
class Backbone:
    """A built backbone and a description of the weights actually loaded."""

    model: keras.Model
    weights_used: str
    pretrained: bool  # pretrained: warm up the head, then fine-tune the top; else train all


def _scale_minus_one_to_one(inputs):
    return layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)


def _application(name: str, input_shape: tuple, weights: str | None) -> keras.Model:
    if name == "mobilenet_v2":
        return keras.applications.MobileNetV2(
            include_top=False, weights=weights, input_shape=input_shape, pooling="avg"
        )
    if name == "mobilenet_v3_small":
        return keras.applications.MobileNetV3Small(
            include_top=False,
            weights=weights,
            input_shape=input_shape,
            pooling="avg",
            include_preprocessing=True,
        )
    return keras.applications.EfficientNetB0(
        include_top=False, weights=weights, input_shape=input_shape, pooling="avg"
    )


def _small_cnn(input_shape: tuple) -> keras.Model:
    """The classic conv/pool stack, trained from scratch where no pretrained weights exist."""
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255.0)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name="small_cnn")


def build_backbone(name: str, *, input_size: int, weights: str) -> Backbone:
    """Build a backbone with the requested weights ('imagenet', 'auto', 'none' or a file path)."""
    if name not in BACKBONES:
        raise ValueError(ERROR_UNKNOWN_BACKBONE.format(name=name, choices=", ".join(BACKBONES)))
    input_shape = (input_size, input_size, 3)
    if name == "small_cnn":
        return Backbone(_small_cnn(input_shape), "none (small CNN, trained from scratch)", False)
    model, used = _with_weights(name, input_shape, weights)
    if name == "mobilenet_v2":
        inputs = keras.Input(input_shape)
        model = keras.Model(inputs, model(_scale_minus_one_to_one(inputs)), name="mobilenet_v2")
    pretrained = not used.startswith("none")
    if not pretrained:
        _settle_batch_norm_faster(model)
    return Backbone(model, used, pretrained=pretrained)


def _settle_batch_norm_faster(model: keras.Model) -> None:
    # A randomly initialised network learns its BN statistics during the few hundred steps a
    # catalogue trains for; Keras' 0.99 momentum lags so far behind that inference collapses.
    for layer in _inner(model).layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BATCH_NORM_MOMENTUM


def _inner(model: keras.Model) -> keras.Model:
    """The keras.applications model inside our scaling wrapper (or the model itself)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[0] if nested else model


def _with_weights(name: str, input_shape: tuple, weights: str) -> tuple[keras.Model, str]:
    if weights in ("none", "", None):
        return _application(name, input_shape, None), "none (random initialisation)"
    if weights not in ("imagenet", "auto"):
        path = Path(weights)
        if not path.is_file():
            raise WeightsUnavailable(ERROR_WEIGHTS_FILE.format(path=path))
        model = _application(name, input_shape, None)
        model.load_weights(path)
        return model, f"file {path}"
    # Read before the catch-all below: a malformed PRODSIM_OFFLINE is the operator's error to
    # fix, never "imagenet unavailable" (which `auto` turns into random initialisation).
    offline = _offline()
    try:
        with _download_timeout(offline=offline):
            return _application(name, input_shape, "imagenet"), "imagenet"
    except Exception as exc:  # noqa: BLE001 - any download/cache failure means "unavailable"
        reason = f"{type(exc).__name__}: {exc}"[:300]
        if weights == "imagenet":
            raise WeightsUnavailable(ERROR_IMAGENET_UNAVAILABLE.format(name=name, reason=reason))
        logger.warning(WARNING_RANDOM_INIT.format(name=name, reason=reason))
        model = _application(name, input_shape, None)
        return model, f"none (random initialisation: imagenet unavailable: {reason})"


def _offline() -> bool:
    """PRODSIM_OFFLINE read exactly as the settings read it (prodsim_site.env.env_bool, which
    this Django-free package cannot import): "false" must not mean offline, and a value that
    is no boolean raises ValueError naming the variable."""
    value = os.environ.get("PRODSIM_OFFLINE", "").lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"PRODSIM_OFFLINE must be a boolean (true/false), got {value!r}")


@contextmanager
def _download_timeout(*, offline: bool):
    """Bound Keras' weight download, so an offline machine fails fast instead of hanging."""
    if offline:
        raise ConnectionError("PRODSIM_OFFLINE is set")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def set_backbone_trainable(backbone: Backbone, *, top_fraction: float) -> None:
    """Train only the last `top_fraction` of the backbone's layers (0 = frozen, 1 = all).

    A pretrained backbone keeps BatchNormalization frozen: fine-tuning on small catalogue
    batches would wreck its statistics (and the offline MobileNetV2 weights have BN folded into
    the convolutions). A randomly initialised one must learn them.
    """
    inner = _inner(backbone.model)
    backbone.model.trainable = True
    first_trainable = len(inner.layers) - round(len(inner.layers) * top_fraction)
    for index, layer in enumerate(inner.layers):
        is_bn = isinstance(layer, layers.BatchNormalization)
        layer.trainable = index >= first_trainable and not (is_bn and backbone.pretrained)
    if backbone.model is not inner:
        for layer in backbone.model.layers:
            if layer is not inner:
                layer.trainable = False


def build_embedding_model(backbone: Backbone, *, embedding_dim: int) -> keras.Model:
    """Backbone → dense projection → L2-normalised (embedding_dim,) float32 vector.

    The head stays float32 under a mixed_float16 policy (Keras' mixed-precision recipe: the
    last layers in float32): float16 sums of squares overflow past 65504, and the vectors are
    compared by cosines that float16 rounds to 1e-3.
    """
    inputs = keras.Input(backbone.model.input_shape[1:], name="image")
    features = backbone.model(inputs)
    projected = layers.Dense(embedding_dim, name="projection", dtype="float32")(features)
    outputs = layers.UnitNormalization(name="l2_normalise", dtype="float32")(projected)
    return keras.Model(inputs, outputs, name="embedding_model")


def float32_copy(model: keras.Model) -> keras.Model:
    """`model` itself when every layer computes in float32, else a copy that does, with its
    weights (mixed_float16 keeps the variables in float32, so they carry over exactly).

    What is exported and served must be float32: TFLite has no float16 convolution kernels, and
    the CPU serving path has no use for float16. Rebuilt from the model's own config, so a
    backbone's architecture (which can depend on the weights it was built with) is kept.
    """
    if all(layer.dtype_policy.name == "float32" for layer in _all_layers(model)):
        return model
    copy = keras.Model.from_config(_float32_policies(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _float32_policies(config):
    """The model config with every layer's dtype policy replaced by plain float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
            return "float32"
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config
