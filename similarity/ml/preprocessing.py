"""The one image preprocessing path for training, catalogue embedding and query embedding.

Everything that turns image bytes into model input goes through `load_image`, so the pixels a
model was trained on and the pixels it is queried with can never drift apart. The steps, in order:

1. read the bytes; `Image.open` restricted to `ACCEPTED_FORMATS`; `max_pixels` checked on the
   header, before any pixel is decoded;
2. JPEG: `Image.draft` lets libjpeg decode at 1/2, 1/4 or 1/8 scale, never below `size`;
3. first frame only (GIF / WebP / APNG / multi-page TIFF);
4. EXIF orientation applied (`ImageOps.exif_transpose` semantics, orientations 1-8);
5. mode normalised to RGB uint8 (see `_to_rgb`; alpha composited on white);
6. resized and padded ("pad") or centre-cropped ("crop") to `size` x `size`.

Colour profiles (ICC) are ignored: pixel values are taken as sRGB. No global Pillow state is set;
Pillow's own `Image.MAX_IMAGE_PIXELS` bomb check still runs at open and is mapped to
`ImageDecodeError` too. Pure Python + NumPy + Pillow: no Django, no TensorFlow.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Bump whenever any change here (or a Pillow upgrade) changes output pixels; every model version
# stores the number it was trained with, so a mismatch between training and serving is visible.
PREPROCESSING_VERSION = 2

ImageSource = bytes | str | os.PathLike[str] | BinaryIO
FitMode = Literal["pad", "crop"]
FIT_MODES: tuple[FitMode, ...] = ("pad", "crop")

# Shop images are photos and web graphics. Limiting the decoders keeps rarely used, fuzz-prone
# ones (EPS calls Ghostscript, PSD, ...) off the query path, which takes untrusted uploads.
# Multi-picture JPEGs (MPO, from phones) come through "JPEG": Pillow's JPEG opener returns them.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")

# 40 MP is above what phones (12-24 MP by default) and most cameras write, and bounds decode
# memory to ~160 MB (RGBA). Pillow's own bomb check only fires at ~89 MP.
DEFAULT_MAX_PIXELS = 40_000_000

# Product photos are shot on white, so transparent areas and padding become white, not black.
BACKGROUND = 255

# BILINEAR: measured 1.0 ms against LANCZOS' 3.2 ms per 400×533 photo (bench/embed_throughput.py)
# on a 2-core machine where decoding competes with inference; a CNN at 224 px sees no difference
# in retrieval quality. Pillow's docs: a reducing_gap >= 3.0 gives results "indistinguishable from
# fair resampling in most cases" (large images are box-reduced first, which is far faster).
RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 3.0

# User-facing messages; tests assert them. Pillow's detail stays on the exception's __cause__.
EMPTY_IMAGE_MESSAGE = "The image is empty (0 bytes)."
UNRECOGNISED_IMAGE_MESSAGE = (
    "The file is not an image in an accepted format (JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF)."
)
CORRUPT_IMAGE_MESSAGE = "The image could not be decoded: the file is corrupt or truncated."
TOO_MANY_PIXELS_MESSAGE = "The image is too large: {width}x{height} pixels, the limit is {limit}."
UNSUPPORTED_MODE_MESSAGE = "The image's colour mode {mode!r} is not supported."

# What Pillow's plugins raise on bad data (struct.error and SyntaxError come from header parsers).
_PILLOW_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


class ImageDecodeError(ValueError):
    """The input is not a usable image.

    `str(error)` is one of the *_MESSAGE constants, except over Pillow's own pixel limit, where it
    is Pillow's message; Pillow's original exception is the `__cause__`.
    """


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
    with _decode(source, size=size, max_pixels=max_pixels, mode=mode) as image:
        return _fit(_to_rgb(image), size=size, mode=mode)


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


def _decode(
    source: ImageSource,
    *,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    mode: FitMode = "crop",
) -> Image.Image:
    """Open, size-check, draft-decode and orient the first frame; the mode is left as stored.

    For JPEG the returned image may be smaller than stored (DCT scaling by 1/2, 1/4 or 1/8), but
    never smaller than the fit will scale it to, so no fit mode upscales what the file held:
    "crop" keeps both sides >= `size`; "pad" only needs the longer side >= `size` (the shorter
    is scaled proportionally), which lets typical 3:4 product photos decode at half resolution.
    """
    data = _read_bytes(source)
    if not data:
        raise ImageDecodeError(EMPTY_IMAGE_MESSAGE)
    with _pillow_errors():
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        _check_pixels(image, max_pixels=max_pixels)
        image.draft("RGB", _draft_target(image.size, size, mode))  # JPEG/MPO only
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    return image


def _draft_target(stored: tuple[int, int], size: int, mode: FitMode) -> tuple[int, int]:
    if mode != "pad":
        return size, size
    width, height = stored
    longest = max(width, height, 1)
    # The exact sizes the pad fit will produce, so draft never goes below them.
    return (max(1, -(-width * size // longest)), max(1, -(-height * size // longest)))


def _read_bytes(source: ImageSource) -> bytes:
    # Reading everything up front also accepts non-seekable streams (HTTP bodies, pipes).
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        return Path(source).read_bytes()
    return source.read()


def _check_pixels(image: Image.Image, *, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        message = TOO_MANY_PIXELS_MESSAGE.format(width=width, height=height, limit=max_pixels)
        raise ImageDecodeError(message)


@contextmanager
def _pillow_errors() -> Iterator[None]:
    """Turn whatever Pillow raises on bad data into `ImageDecodeError`."""
    try:
        yield
    except ImageDecodeError:
        raise
    except UnidentifiedImageError as exc:  # before OSError: it is one
        raise ImageDecodeError(UNRECOGNISED_IMAGE_MESSAGE) from exc
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(str(exc)) from exc
    except _PILLOW_DECODE_ERRORS as exc:
        raise ImageDecodeError(CORRUPT_IMAGE_MESSAGE) from exc


def _to_rgb(image: Image.Image) -> Image.Image:
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


def _fit(image: Image.Image, *, size: int, mode: FitMode) -> np.ndarray:
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
