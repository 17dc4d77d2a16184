"""Decoding: image bytes to one oriented Pillow frame, with only the accepted decoders and the
pixel count checked on the header before any pixel is decoded."""

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import (
    CORRUPT_IMAGE_MESSAGE,
    EMPTY_IMAGE_MESSAGE,
    TOO_MANY_PIXELS_MESSAGE,
    UNRECOGNISED_IMAGE_MESSAGE,
    ImageDecodeError,
)
from .fitting import FitMode, draft_target

ImageSource = bytes | str | os.PathLike[str] | BinaryIO

# Shop images are photos and web graphics. Limiting the decoders keeps rarely used, fuzz-prone
# ones (EPS calls Ghostscript, PSD, ...) off the query path, which takes untrusted uploads.
# Multi-picture JPEGs (MPO, from phones) come through "JPEG": Pillow's JPEG opener returns them.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")

# 40 MP is above what phones (12-24 MP by default) and most cameras write, and bounds decode
# memory to ~160 MB (RGBA). Pillow's own bomb check only fires at ~89 MP.
DEFAULT_MAX_PIXELS = 40_000_000

# What Pillow's plugins raise on bad data (struct.error and SyntaxError come from header parsers).
_PILLOW_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


def decode(
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
        image.draft("RGB", draft_target(image.size, size, mode))  # JPEG/MPO only
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    return image


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
