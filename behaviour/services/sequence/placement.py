"""Products added after a sequence model version trained get their rows in its pgvector set
from their content alone, as training placed its own products without events: on the behaviour
refresh (every beat) and by `manage.py sequence_vectors`, so they become candidates without a
retraining. Their events count in a visitor's vector from the next training.
"""

import datetime as dt
import logging

import numpy as np
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.serving import SequenceScorer
from catalog.models import Product, ProductImage
from similarity import vector_store
from similarity.models import ModelVersion, ProductEmbedding, ProductText

from ...models import SequenceItemVector, SequenceModelVersion
from .content import ContentSource
from .vectors import STORE_FAILURES, item_vector_set

logger = logging.getLogger(__name__)

PLACE_BATCH = 5_000  # new products placed per round trip
PHOTO_WAIT = dt.timedelta(hours=6)  # longer than a training holds the ml worker
# Versions that serve or may (an A/B test's candidate); archived ones come back by a rollback,
# which stores nothing new, and are placed on the next refresh after it.
PLACED = (SequenceModelVersion.Status.ACTIVE, SequenceModelVersion.Status.READY)


def sequence_vectors_place_new(*, version: SequenceModelVersion) -> int:
    """Give the stored version a row for each active product it has none for, from the
    product's content (content.py: the image version it trained with, the current lexical
    index): the content projection alone, as training placed its products without events.
    Products without any content yet wait for it. The rows added; 0 for a version without a
    content part. OSError / ValueError when its weights cannot be read."""
    if version.vectors_stored_at is None or not version.params.get("use_content", True):
        return 0
    source = ContentSource.trained_with(version)
    missing = _placeable(version, source)
    if not missing:
        return 0
    weights, config = artifacts.load(version.artifact_path)
    if "content_kernel" not in weights:
        return 0
    scorer, added = SequenceScorer(weights, config), 0
    vector_set = item_vector_set(version_id=version.pk, dim=config.dim)
    for start in range(0, len(missing), PLACE_BATCH):
        product_ids = np.array(missing[start : start + PLACE_BATCH], dtype=np.int64)
        content, found = source.vectors(product_ids)
        vectors = scorer.item_vectors(content[found], known=np.zeros(int(found.sum()), bool))
        added += vector_store.item_vectors_add(
            vector_set, product_ids=product_ids[found], vectors=vectors
        )
    logger.info("sequence version %s: %s new products placed by content", version.pk, added)
    return added


def _placeable(version: SequenceModelVersion, source: ContentSource) -> list[int]:
    """Active products without a row of the version that have some content to place them by,
    and their photo's part if one is still to come. A product is placed once: its words are
    stored within seconds, its photos' vector on the ml worker (behind a training, perhaps), and
    placed by its words alone it would stay so until the next training. It waits for its photo
    while the image version it would be read from is active (the one that embeds new photos),
    for PHOTO_WAIT at most (a photo that cannot be embedded)."""
    has_content, has_photo_part = Q(pk__in=[]), Q()
    if source.image_version is not None and source.image_dim:
        embedded = ProductEmbedding.objects.filter(
            model_version=source.image_version, embedding__isnull=False
        ).values("product_id")
        has_content |= Q(pk__in=embedded)
        if source.image_version.status == ModelVersion.Status.ACTIVE:
            waited = timezone.now() - PHOTO_WAIT
            photos = ProductImage.objects.filter(product=OuterRef("pk"))
            has_photo_part = Q(pk__in=embedded) | ~Exists(photos) | Q(created_at__lt=waited)
    if source.text_index is not None and source.text_dim:
        texts = ProductText.objects.filter(lexical_index_id=source.text_index)
        has_content |= Q(pk__in=texts.values("product_id"))
    rows = SequenceItemVector.objects.filter(version=version).values("product_id")
    products = Product.objects.filter(has_content, has_photo_part, is_active=True)
    products = products.exclude(pk__in=rows)
    return list(products.order_by("pk").values_list("pk", flat=True))


def sequence_vectors_place_all() -> dict[int, int]:
    """sequence_vectors_place_new for every stored active or ready version: version id → rows
    added (only those that gained some). A version whose weights cannot be read is logged and
    skipped: it serves the products it has."""
    placed: dict[int, int] = {}
    versions = SequenceModelVersion.objects.filter(status__in=PLACED).exclude(
        vectors_stored_at=None
    )
    for version in versions.order_by("pk"):
        try:
            added = sequence_vectors_place_new(version=version)
        except STORE_FAILURES as exc:  # a product deleted while its row was written, too
            logger.error("sequence version %s: new products not placed: %s", version.pk, exc)
            continue
        if added:
            placed[version.pk] = added
    return placed
