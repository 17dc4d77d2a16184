"""The colour-histogram baseline: the hand-crafted embedding a learned model must beat."""

import numpy as np

from .inputs import is_positive_int
from .neighbours import l2_normalise

ERR_IMAGE_SHAPE = "images must be uint8 of shape {expected}; got {dtype} of shape {shape}"
ERR_BINS = "bins must be an integer from 1 to 256; got {bins!r}"


def colour_histograms(images: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """Joint RGB colour histograms, the hand-crafted baseline the learned embeddings must beat.

    images: (n, H, W, 3) uint8 RGB. Each channel is cut into `bins` equal ranges, so a pixel
    falls in one of bins**3 cells. Returns (n, bins**3) float32, each row L2-normalised, so
    cosine similarity is a plain dot product.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(_image_error(images, "(n, H, W, 3)"))
    if not is_positive_int(bins) or bins > 256:
        raise ValueError(ERR_BINS.format(bins=bins))
    cells = bins**3
    quantised = (images.astype(np.int64) * bins) >> 8  # 0 .. bins-1, equal-width ranges
    codes = (quantised[..., 0] * bins + quantised[..., 1]) * bins + quantised[..., 2]
    # One bincount for the whole batch: offset each image's codes into its own block of cells.
    codes = codes.reshape(len(images), -1) + np.arange(len(images))[:, None] * cells
    counts = np.bincount(codes.ravel(), minlength=len(images) * cells)
    return l2_normalise(counts.reshape(len(images), cells).astype(np.float32))


def colour_histogram(image: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """One (H, W, 3) uint8 RGB image -> (bins**3,) float32 L2-normalised joint colour histogram."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(_image_error(image, "(H, W, 3)"))
    return colour_histograms(image[None], bins=bins)[0]


def _image_error(images: np.ndarray, expected: str) -> str:
    return ERR_IMAGE_SHAPE.format(expected=expected, dtype=images.dtype, shape=images.shape)
