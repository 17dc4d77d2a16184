"""Colour-mode normalisation: any Pillow mode becomes 8-bit RGB, alpha composited on white."""

import numpy as np
from PIL import Image

from .errors import UNSUPPORTED_MODE_MESSAGE, ImageDecodeError

# Product photos are shot on white, so transparent areas and padding become white, not black.
BACKGROUND = 255

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> an "RGB" image with the same size.

    - "RGB": as is. "1", "L", "CMYK", "RGBX", "YCbCr", "HSV": Pillow's `convert("RGB")`
      ("1" -> 0/255; CMYK with Pillow's formula, R = (255 - C) * (255 - K) / 255).
    - Alpha ("RGBA", "LA", "PA", premultiplied "RGBa"/"La", and "P"/"L"/"RGB" with a
      transparency key): composited on white, see `_composite_on_white`.
    - 16-bit "I;16*": value >> 8 (0..65535 -> 0..255). Pillow's own convert clips at 255.
    - 32-bit "I" and float "F": see `_scale_int32` and `_scale_float`.
    - Greyscale "I;16*", "I" and "F" have no alpha; a PNG transparency key on them is ignored.
    """
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in _UINT16_MODES:
        return _grey_to_rgb((np.asarray(image) >> 8).astype(np.uint8))
    if image.mode == "I":
        return _grey_to_rgb(_scale_int32(np.asarray(image)))
    if image.mode == "F":
        return _grey_to_rgb(_scale_float(np.asarray(image)))
    if image.mode in _ALPHA_MODES or image.has_transparency_data:
        return _composite_on_white(np.asarray(image.convert("RGBA")))
    try:
        return image.convert("RGB")
    except ValueError as exc:  # e.g. "LAB", which needs a colour profile to convert
        raise ImageDecodeError(UNSUPPORTED_MODE_MESSAGE.format(mode=image.mode)) from exc


def _composite_on_white(rgba: np.ndarray) -> Image.Image:
    """(h, w, 4) uint8 straight alpha -> RGB image: c * a/255 + 255 * (1 - a/255), rounded."""
    colour = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:].astype(np.uint32)
    blended = (colour * alpha + BACKGROUND * (255 - alpha) + 127) // 255
    return Image.fromarray(blended.astype(np.uint8), mode="RGB")


def _scale_int32(values: np.ndarray) -> np.ndarray:
    """(h, w) int32 -> uint8. Negatives -> 0; then by the largest value, deterministically:

    max <= 255: taken as 8-bit; max <= 65535: taken as 16-bit (>> 8); otherwise v * 255 // max.
    """
    values = np.clip(values.astype(np.int64), 0, None)
    peak = int(values.max(initial=0))
    if peak <= 255:
        return values.astype(np.uint8)
    if peak <= 65535:
        return (values >> 8).astype(np.uint8)
    return (values * 255 // peak).astype(np.uint8)


def _scale_float(values: np.ndarray) -> np.ndarray:
    """(h, w) float -> uint8. NaN -> 0; max <= 1 means 0..1 (x 255), else 0..255; clipped,
    rounded half up."""
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if values.max(initial=0.0) <= 1.0:
        values = values * 255.0
    return np.floor(np.clip(values, 0.0, 255.0) + 0.5).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> Image.Image:
    return Image.fromarray(np.repeat(grey[..., np.newaxis], 3, axis=2), mode="RGB")
