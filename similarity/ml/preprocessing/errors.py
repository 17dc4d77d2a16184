"""How preprocessing fails on bad input: one exception, with messages tests assert."""

# User-facing messages; tests assert them. Pillow's detail stays on the exception's __cause__.
EMPTY_IMAGE_MESSAGE = "The image is empty (0 bytes)."
UNRECOGNISED_IMAGE_MESSAGE = (
    "The file is not an image in an accepted format (JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF)."
)
CORRUPT_IMAGE_MESSAGE = "The image could not be decoded: the file is corrupt or truncated."
TOO_MANY_PIXELS_MESSAGE = "The image is too large: {width}x{height} pixels, the limit is {limit}."
UNSUPPORTED_MODE_MESSAGE = "The image's colour mode {mode!r} is not supported."


class ImageDecodeError(ValueError):
    """The input is not a usable image.

    `str(error)` is one of the *_MESSAGE constants, except over Pillow's own pixel limit, where it
    is Pillow's message; Pillow's original exception is the `__cause__`.
    """
