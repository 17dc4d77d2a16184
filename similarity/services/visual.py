"""Visual search: embed an uploaded photo with the active version (LiteRT, no TensorFlow)."""

import numpy as np
from django.conf import settings

from catalog.images import InvalidImage, prepare_image

from ..ml.embedder import get_embedder
from ..ml.preprocessing import ImageDecodeError, load_image
from ..ml.tta import flip_averaged
from ..selectors import active_version

ERROR_NO_MODEL = "visual search needs an active similarity model; train one first"


class VisualSearchUnavailable(RuntimeError):
    pass


def image_query_vector(*, data: bytes) -> np.ndarray:
    """The active version's vector of an uploaded photo. Raises InvalidImage for bad uploads."""
    # The same validation as catalogue images (formats, size, pixel bombs) before decoding, and
    # before the model: a file that is no photo is the sender's mistake whatever the server's state.
    prepared = prepare_image(
        data,
        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
    )
    version = active_version()
    if version is None or not version.artifact_dir:
        raise VisualSearchUnavailable(ERROR_NO_MODEL)
    try:
        pixels = load_image(prepared.content, size=version.input_size)
    except ImageDecodeError as exc:
        raise InvalidImage(str(exc)) from exc
    # The photo and its mirror image averaged, for one more forward pass: chosen on both image
    # dev sets' validation photos (+0.028 Recall@1 on grocery's, equal on clothing's;
    # docs/BENCHMARKS.md, grocery section).
    return flip_averaged(get_embedder(version.artifact_dir).embed, pixels[None])[0]
