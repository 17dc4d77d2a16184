"""The one entry point: image bytes to model input, for training and serving alike."""

from collections.abc import Iterable

import numpy as np

from .colour import to_rgb
from .decoding import DEFAULT_MAX_PIXELS, ImageSource, decode
from .errors import ImageDecodeError
from .fitting import FIT_MODES, FitMode, fit

# Bump whenever any change in this package (or a Pillow upgrade) changes output pixels; every
# model version stores the number it was trained with, so a training/serving mismatch is visible.
PREPROCESSING_VERSION = 2


def load_image(
    source: ImageSource,
    *,
    size: int,
    mode: FitMode = "pad",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode an image and return it as a (size, size, 3) uint8 RGB array, values 0..255.

    `source` is the encoded image: bytes, a path, or a binary file object (read to its end, not
    closed). `mode="pad"` scales the longer side to `size` and pads the rest with white, centred
    (an odd remainder goes to the bottom/right); `mode="crop"` scales the shorter side to `size`
    and keeps the centre. The result is C-contiguous, writable and deterministic for a given
    Pillow version.

    Raises `ImageDecodeError` for empty, unrecognised, corrupt or truncated data, unsupported
    colour modes and images over `max_pixels`; `OSError` if a path cannot be read.
    """
    _check_arguments(size=size, mode=mode)
    with decode(source, size=size, max_pixels=max_pixels, mode=mode) as image:
        return fit(to_rgb(image), size=size, mode=mode)


def load_batch(
    sources: Iterable[ImageSource],
    *,
    size: int,
    mode: FitMode = "pad",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """`load_image` over `sources`: an (n, size, size, 3) uint8 array in input order.

    An `ImageDecodeError` names the position of the failing source ("Image 3: ...").
    """
    batch = []
    for index, source in enumerate(sources):
        try:
            batch.append(load_image(source, size=size, mode=mode, max_pixels=max_pixels))
        except ImageDecodeError as exc:
            raise ImageDecodeError(f"Image {index}: {exc}") from exc
    if not batch:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    return np.stack(batch)


def _check_arguments(*, size: int, mode: str) -> None:
    # Programming errors, not bad images: plain ValueError, not ImageDecodeError.
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if mode not in FIT_MODES:
        raise ValueError(f"mode must be one of {FIT_MODES}, got {mode!r}")
