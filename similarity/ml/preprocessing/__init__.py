"""The one image preprocessing path for training, catalogue embedding and query embedding.

Everything that turns image bytes into model input goes through `load_image`, so the pixels a
model was trained on and the pixels it is queried with can never drift apart. The steps, in order:

1. read the bytes; `Image.open` restricted to `ACCEPTED_FORMATS`; `max_pixels` checked on the
   header, before any pixel is decoded;
2. JPEG: `Image.draft` lets libjpeg decode at 1/2, 1/4 or 1/8 scale, never below `size`;
3. first frame only (GIF / WebP / APNG / multi-page TIFF);
4. EXIF orientation applied (`ImageOps.exif_transpose` semantics, orientations 1-8);
5. mode normalised to RGB uint8 (see `colour.to_rgb`; alpha composited on white);
6. resized and padded ("pad") or centre-cropped ("crop") to `size` x `size`.

Colour profiles (ICC) are ignored: pixel values are taken as sRGB. No global Pillow state is set;
Pillow's own `Image.MAX_IMAGE_PIXELS` bomb check still runs at open and is mapped to
`ImageDecodeError` too. Pure Python + NumPy + Pillow: no Django, no TensorFlow.
"""

from .colour import BACKGROUND
from .decoding import ACCEPTED_FORMATS, DEFAULT_MAX_PIXELS, ImageSource
from .errors import (
    CORRUPT_IMAGE_MESSAGE,
    EMPTY_IMAGE_MESSAGE,
    TOO_MANY_PIXELS_MESSAGE,
    UNRECOGNISED_IMAGE_MESSAGE,
    UNSUPPORTED_MODE_MESSAGE,
    ImageDecodeError,
)
from .fitting import FIT_MODES, REDUCING_GAP, RESAMPLE, FitMode
from .loading import PREPROCESSING_VERSION, load_batch, load_image

__all__ = [
    "ACCEPTED_FORMATS",
    "BACKGROUND",
    "CORRUPT_IMAGE_MESSAGE",
    "DEFAULT_MAX_PIXELS",
    "EMPTY_IMAGE_MESSAGE",
    "FIT_MODES",
    "PREPROCESSING_VERSION",
    "REDUCING_GAP",
    "RESAMPLE",
    "TOO_MANY_PIXELS_MESSAGE",
    "UNRECOGNISED_IMAGE_MESSAGE",
    "UNSUPPORTED_MODE_MESSAGE",
    "FitMode",
    "ImageDecodeError",
    "ImageSource",
    "load_batch",
    "load_image",
]
