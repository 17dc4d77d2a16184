"""The stored photos a training run (or a re-evaluation) reads, each decoded once.

A stored photo that no longer decodes (a disk error, a partial restore) is left out and logged by
image id, as embedding does (`embedding._decode`): one bad file must not fail a whole training.
It is left out before the split, so the version's dataset summary is what was trained on.
"""

import logging
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from catalog import selectors as catalog_selectors
from catalog.selectors import ImageRecord

from ..ml.preprocessing import ImageDecodeError, load_image

logger = logging.getLogger(__name__)

NAMED_UNREADABLE = 10  # an error or log line names this many; the version's dataset lists all


def photos_decode(
    records: list[ImageRecord], *, size: int
) -> tuple[list[ImageRecord], list[int], dict[int, np.ndarray]]:
    """(the records whose photo decodes, in order; the image ids of those that do not;
    {image id: uint8 (size, size, 3)} of the readable ones)."""
    readable, unreadable, decoded = [], [], {}
    for record in records:
        try:
            data = catalog_selectors.image_read(file_name=record.file_name)
            # The limit catalogue images were checked against (it may be above load_image's).
            limit = settings.PRODSIM_MAX_IMAGE_PIXELS
            decoded[record.image_id] = load_image(data, size=size, max_pixels=limit)
        except (ImageDecodeError, OSError) as exc:
            logger.warning(
                "Image %s does not decode and is left out: %s", record.image_id, _why(exc)
            )
            unreadable.append(record.image_id)
            continue
        readable.append(record)
    return readable, unreadable, decoded


def photos_stack(
    decoded: dict[int, np.ndarray], records: list[ImageRecord], *, size: int
) -> np.ndarray:
    """uint8 (n, size, size, 3): the photos of `records` in order, each moved out of `decoded`
    as it is copied, so a large catalogue is never held twice."""
    stacked = np.zeros((len(records), size, size, 3), np.uint8)
    for row, record in enumerate(records):
        stacked[row] = decoded.pop(record.image_id)
    return stacked


def named_ids(image_ids: Sequence[int]) -> str:
    """The first NAMED_UNREADABLE ids, comma-separated, "…" after them when there are more."""
    named = ", ".join(map(str, image_ids[:NAMED_UNREADABLE]))
    return named + (", …" if len(image_ids) > NAMED_UNREADABLE else "")


def _why(exc: Exception) -> str:
    # An OSError's text carries the file's path, and a stored file's name is the shop's own
    # (customer data): its errno text only. ImageDecodeError messages are fixed sentences.
    if isinstance(exc, ImageDecodeError):
        return str(exc)
    return getattr(exc, "strerror", None) or type(exc).__name__
