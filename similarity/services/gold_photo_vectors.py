"""The gold photos' query vectors under a version: flip-averaged, as visual search embeds a
photo, computed a batch at a time and kept in Valkey, since a servable version's model files
never change and every admin page that scores versions would otherwise embed each photo again.
"""

import hashlib
import logging

import numpy as np
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from ..ml.embedder import get_embedder
from ..ml.preprocessing import load_batch
from ..ml.tta import flip_averaged
from ..models import GoldPhoto, ModelVersion

logger = logging.getLogger(__name__)

# Photos decoded and embedded at once: a request holds one batch of pixels, not the whole set's.
GOLD_EMBED_BATCH = 32
QUERY_VECTOR_SECONDS = 7 * 24 * 3600


def query_vectors(version: ModelVersion, photos: list[GoldPhoto]) -> list[np.ndarray]:
    """Each photo's query vector under the version (flip-averaged, as visual search embeds),
    from the cache where an earlier page embedded it; the others embedded a batch at a time."""
    keys = [_query_vector_key(version, photo) for photo in photos]
    try:
        cached = cache.get_many(keys)
    except RedisError as exc:  # the scores are still right, only slower
        logger.warning("gold photo vectors not cached: %s", exc)
        cached = {}
    missing = [i for i, key in enumerate(keys) if key not in cached]
    computed = {}
    for start in range(0, len(missing), GOLD_EMBED_BATCH):
        batch = missing[start : start + GOLD_EMBED_BATCH]
        images = GoldPhoto.objects.in_bulk([photos[i].pk for i in batch])
        pixels = load_batch(
            [bytes(images[photos[i].pk].image) for i in batch],
            size=version.input_size,
            max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,  # the upload's limit
        )
        embed = get_embedder(version.artifact_dir).embed
        computed |= dict(zip([keys[i] for i in batch], flip_averaged(embed, pixels), strict=True))
    if computed:
        try:
            cache.set_many(computed, QUERY_VECTOR_SECONDS)
        except RedisError as exc:
            logger.warning("gold photo vectors not cached: %s", exc)
    return [cached[key] if key in cached else computed[key] for key in keys]


def _query_vector_key(version: ModelVersion, photo: GoldPhoto) -> str:
    # The model's folder, not only the version's id: a database restored beside other model
    # files, or a test run's ids counted again, never reads another model's vectors.
    files = hashlib.sha256(str(version.artifact_dir).encode()).hexdigest()[:16]
    return f"gold-vector:{version.pk}:{files}:{photo.sha256}:{version.input_size}"
