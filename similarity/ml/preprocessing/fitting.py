"""Geometry: scale an RGB image to a square, padding with white or centre-cropping."""

from typing import Literal

import numpy as np
from PIL import Image

from .colour import BACKGROUND

FitMode = Literal["pad", "crop"]
FIT_MODES: tuple[FitMode, ...] = ("pad", "crop")

# BILINEAR: measured 1.0 ms against LANCZOS' 3.2 ms per 400×533 photo (bench/embed_throughput.py)
# on a 2-core machine where decoding competes with inference; a CNN at 224 px sees no difference
# in retrieval quality. Pillow's docs: a reducing_gap >= 3.0 gives results "indistinguishable from
# fair resampling in most cases" (large images are box-reduced first, which is far faster).
RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 3.0


def fit(image: Image.Image, *, size: int, mode: FitMode) -> np.ndarray:
    """RGB image -> (size, size, 3) uint8, C-contiguous, writable."""
    width, height = image.size
    reference = max(width, height) if mode == "pad" else min(width, height)
    # Integer round-half-up, so a dimension never depends on float rounding.
    new_size = (
        max(1, (width * size + reference // 2) // reference),
        max(1, (height * size + reference // 2) // reference),
    )
    resized = np.asarray(image.resize(new_size, RESAMPLE, reducing_gap=REDUCING_GAP))
    if mode == "pad":
        return _pad_to_square(resized, size=size)
    return _centre_crop(resized, size=size)


def _pad_to_square(pixels: np.ndarray, *, size: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    top, left = (size - height) // 2, (size - width) // 2
    square = np.full((size, size, 3), BACKGROUND, dtype=np.uint8)
    square[top : top + height, left : left + width] = pixels
    return square


def _centre_crop(pixels: np.ndarray, *, size: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    return np.array(pixels[top : top + size, left : left + size], dtype=np.uint8, order="C")


def draft_target(stored: tuple[int, int], size: int, mode: FitMode) -> tuple[int, int]:
    """The smallest size a JPEG may be draft-decoded at: never below what `fit` scales it to."""
    if mode != "pad":
        return size, size
    width, height = stored
    longest = max(width, height, 1)
    # The exact sizes the pad fit will produce, so draft never goes below them.
    return (max(1, -(-width * size // longest)), max(1, -(-height * size // longest)))
