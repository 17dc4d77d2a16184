"""Export a trained embedding model: Keras file, fast CPU artifact (TFLite/XNNPACK), metadata."""

import contextlib
import io
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .artifacts import KERAS_FILE, METADATA_FILE, TFLITE_FILE
from .backbones import float32_copy

# Float32 TFLite reorders some arithmetic (fused ops, XNNPACK kernels); on unit vectors the
# differences we measured stay below 1e-4, so a larger gap means a broken conversion.
TFLITE_TOLERANCE = 1e-3


class ExportMismatch(RuntimeError):
    """The TFLite artifact does not reproduce the Keras model's vectors."""


def export_model(
    model: keras.Model, *, directory: Path, metadata: dict, check_images: np.ndarray
) -> dict:
    """Write model.keras, model.tflite and metadata.json into `directory`.

    check_images: uint8 (n, s, s, 3) images on which the two artifacts must agree within
    TFLITE_TOLERANCE (max absolute difference per component). Both artifacts compute in
    float32, whatever dtype policy `model` was built under. Returns the written metadata.
    """
    directory.mkdir(parents=True, exist_ok=True)
    # A model built under mixed_float16 is saved and converted as its float32 copy: TFLite has
    # no float16 convolutions, and the CPU serving path gains nothing from float16.
    model = float32_copy(model)
    model.save(directory / KERAS_FILE)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the traced signature
        (directory / TFLITE_FILE).write_bytes(converter.convert())
    from .embedder import TfliteEmbedder  # local: embedder imports this module's constants

    expected = np.asarray(model(check_images.astype(np.float32), training=False))
    actual = TfliteEmbedder(directory / TFLITE_FILE).embed(check_images)
    difference = float(np.max(np.abs(expected - actual))) if len(check_images) else 0.0
    if difference > TFLITE_TOLERANCE:
        raise ExportMismatch(f"TFLite differs from Keras by {difference:.2e}")
    written = {
        **metadata,
        "tflite_max_abs_difference": difference,
        "files": [KERAS_FILE, TFLITE_FILE],
    }
    (directory / METADATA_FILE).write_text(json.dumps(written, indent=2, sort_keys=True))
    return written


def read_metadata(directory: Path) -> dict:
    return json.loads((directory / METADATA_FILE).read_text())
