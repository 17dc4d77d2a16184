"""Visual search: embed an uploaded photo with the serving version (LiteRT, no TensorFlow)."""

import logging

import numpy as np
from django.conf import settings

from catalog.images import InvalidImage, prepare_image

from ..ml.embedder import get_embedder
from ..ml.preprocessing import ImageDecodeError, load_image
from ..ml.tta import flip_averaged
from ..models import ModelVersion
from .model_files import MODEL_LOAD_ERRORS, model_files_problem

logger = logging.getLogger(__name__)

ERROR_NO_MODEL = "visual search needs an active similarity model; train one first"
# The folder and the loader's error go to the log: a shopper or a partner can do nothing with them.
ERROR_MODEL_UNLOADABLE = "visual search is unavailable: the active model's files cannot be loaded"


class VisualSearchUnavailable(RuntimeError):
    pass


def image_query_vector(*, data: bytes, version: ModelVersion | None) -> np.ndarray:
    """`version`'s vector of an uploaded photo: the serving_version the caller searches with.
    Raises InvalidImage for bad uploads, VisualSearchUnavailable when no version is active or
    its model cannot be loaded."""
    # The same validation as catalogue images (formats, size, pixel bombs) before decoding, and
    # before the model: a file that is no photo is the sender's mistake whatever the server's state.
    prepared = prepare_image(
        data,
        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
        png_compress_level=1,  # decoded at once, never stored: the quickest lossless encoding
    )
    if version is None or not version.artifact_dir:
        raise VisualSearchUnavailable(ERROR_NO_MODEL)
    try:
        pixels = load_image(
            prepared.content,
            size=version.input_size,
            max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
        )
    except ImageDecodeError as exc:
        raise InvalidImage(str(exc)) from exc
    return _embedded(version, pixels)


def _embedded(version: ModelVersion, pixels: np.ndarray) -> np.ndarray:
    # Files gone are looked for before loading: without model.tflite the loader falls back to
    # Keras, which would import TensorFlow into the web process only to fail.
    if problem := model_files_problem(version):
        logger.error("Visual search is unavailable: %s", problem)
        raise VisualSearchUnavailable(ERROR_MODEL_UNLOADABLE)
    try:
        # The photo and its mirror image averaged, for one more forward pass: chosen on both
        # image dev sets' validation photos (+0.028 Recall@1 on grocery's, equal on clothing's;
        # docs/BENCHMARKS.md, grocery section).
        return flip_averaged(get_embedder(version.artifact_dir).embed, pixels[None])[0]
    except MODEL_LOAD_ERRORS as exc:  # files cut short or corrupt
        logger.error("Visual search is unavailable: v%s cannot load its model: %s", version.pk, exc)
        raise VisualSearchUnavailable(ERROR_MODEL_UNLOADABLE) from exc
