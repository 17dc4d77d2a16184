"""Validate an uploaded product image and turn it into the derivative prodsim stores.

Originals are never stored or served: the stored file is re-encoded from decoded pixels, EXIF
orientation applied and all metadata (EXIF, GPS, ICC comments) dropped.
"""

import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
JPEG_QUALITY = 90  # visually lossless for product photos at about a third of PNG's size
# libjpeg cannot write a side longer than this: no side of a photo stored as JPEG (one without
# transparency; those are stored as PNG) may be.
MAX_SIDE = 65_500

ERROR_EMPTY = "the image file is empty"
ERROR_TOO_LARGE = "the image is larger than {limit} bytes"
ERROR_NOT_IMAGE = "the file is not a readable image"
ERROR_FORMAT = "image format {format} is not accepted (use JPEG, PNG or WebP)"
ERROR_TOO_MANY_PIXELS = "the image has {pixels} pixels, more than the limit of {limit}"
ERROR_CORRUPT = "the image data is corrupt or truncated: {reason}"
ERROR_TOO_LONG_SIDE = "the image is {width}×{height} pixels; no side may be longer than {limit}"
# What Pillow's parsers raise for data they cannot read (a header cut short or fuzzed): not
# only OSError, and a PPM header cut short raises ValueError in every plugin's open.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, IndexError, EOFError, struct.error)
# Pillow's decompression-bomb messages name the declared size: "Image size (N pixels) exceeds…"
BOMB_PIXELS_RE = re.compile(r"\((\d+) pixels\)")


class InvalidImage(ValueError):
    """The upload is not an acceptable image; the message is shown to the catalogue admin."""


@dataclass(frozen=True)
class PreparedImage:
    """A validated image ready to store: re-encoded bytes plus what the catalogue records."""

    content: bytes
    extension: str
    width: int
    height: int
    sha256: str  # of the original bytes, so re-importing the same file is recognised


def prepare_image(
    data: bytes, *, max_bytes: int, max_pixels: int, png_compress_level: int = 6
) -> PreparedImage:
    """Validate `data` and return its re-encoded derivative, or raise InvalidImage.

    A photo with transparency is stored as PNG, lossless at any `png_compress_level`: a photo
    only searched by (never stored) takes 1, the quickest. zlib's best compression (Pillow's
    `optimize`) is never asked for: on noisy pixels it spent a minute on one 9-megapixel upload,
    a web worker's time limit, where the default level takes seconds."""
    if not data:
        raise InvalidImage(ERROR_EMPTY)
    if len(data) > max_bytes:
        raise InvalidImage(ERROR_TOO_LARGE.format(limit=max_bytes))
    image = _eight_bit(_upright(_open_checked(data, max_pixels)))
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    if not has_alpha and max(image.width, image.height) > MAX_SIDE:  # stored as JPEG
        raise InvalidImage(
            ERROR_TOO_LONG_SIDE.format(width=image.width, height=image.height, limit=MAX_SIDE)
        )
    image = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    if has_alpha:
        image.save(buffer, format="PNG", compress_level=png_compress_level)
    else:
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return PreparedImage(
        content=buffer.getvalue(),
        extension="png" if has_alpha else "jpg",
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open with the format allow-list and pixel cap checked before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except UnidentifiedImageError:
        raise InvalidImage(_format_error(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        declared = BOMB_PIXELS_RE.search(str(exc))
        pixels = declared.group(1) if declared else "too many"
        raise InvalidImage(ERROR_TOO_MANY_PIXELS.format(pixels=pixels, limit=max_pixels)) from None
    except DECODE_ERRORS as exc:  # a header cut short
        raise InvalidImage(ERROR_CORRUPT.format(reason=exc)) from None
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise InvalidImage(ERROR_TOO_MANY_PIXELS.format(pixels=pixels, limit=max_pixels))
    try:
        image.load()
    except DECODE_ERRORS as exc:
        raise InvalidImage(ERROR_CORRUPT.format(reason=exc)) from None
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Turned as its EXIF orientation says; as it is when the EXIF block is damaged (the pixels
    are fine, and a photo is worth more unturned than refused)."""
    try:
        return ImageOps.exif_transpose(image)
    except (SyntaxError, struct.error, ValueError, TypeError, KeyError, IndexError, OSError):
        return image


def _eight_bit(image: Image.Image) -> Image.Image:
    """16- or 32-bit greyscale scaled to 8 bits: converting it to RGB directly clips every value
    above 255, so a mid-grey photo turned white."""
    if image.mode.startswith("I;16"):
        peak = 65535
    elif image.mode == "I":  # 32-bit: scaled by its own brightest value
        peak = max(image.getextrema()[1], 255)
    else:
        return image
    return image.convert("I").point(lambda value: value * (255 / peak)).convert("L")


def _format_error(data: bytes) -> str:
    """Name a recognised but refused format; otherwise say it is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return ERROR_FORMAT.format(format=image.format)
    except (*DECODE_ERRORS, Image.DecompressionBombError):  # every plugin tries it
        return ERROR_NOT_IMAGE
