"""A sequence model version's output item vectors in pgvector, where the recommendations' sequence
signal searches them by inner product through the version's own HNSW index.

Stored once per version, from the version's vectors file, when it is activated and by
`manage.py sequence_vectors` (versions trained before vectors moved into pgvector, and A/B test
candidates that were never activated). A version not stored yet still serves: from its file, by
the exact NumPy product (selectors.recommendations.sequence).

Products added after a version trained get their row later, from their content alone, as
training placed its own products without events (`sequence_vectors_place_new`, on the behaviour
refresh): they become candidates without a retraining.
"""

import logging

import numpy as np
from django.db.models import Q
from django.utils import timezone

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.serving import SequenceScorer
from catalog.models import Product
from similarity import cache as similar_cache
from similarity import vector_store
from similarity.models import ProductEmbedding, ProductText
from similarity.vector_store import ItemVectorSet

from ...models import SequenceItemVector, SequenceModelVersion
from .content import ContentSource

logger = logging.getLogger(__name__)

SERVABLE = (
    SequenceModelVersion.Status.READY,
    SequenceModelVersion.Status.ACTIVE,
    SequenceModelVersion.Status.ARCHIVED,
)
PLACE_BATCH = 5_000  # new products placed per round trip
# Versions that serve or may (an A/B test's candidate); archived ones come back by a rollback,
# which stores nothing new, and are placed on the next refresh after it.
PLACED = (SequenceModelVersion.Status.ACTIVE, SequenceModelVersion.Status.READY)
ERROR_NO_FILE = "sequence version {pk} has no vectors file to store"
ERROR_NOT_SERVABLE = "sequence version {pk} is {status}: only trained versions' vectors are stored"


class SequenceVectorsError(Exception):
    """A version whose vectors cannot be stored; the message says why."""


def item_vector_set(*, version_id: int, dim: int) -> ItemVectorSet:
    """Where the version's vectors live for the vector store."""
    table = SequenceItemVector._meta.db_table
    return ItemVectorSet(table=table, owner_column="version_id", owner=version_id, dim=dim)


def sequence_vectors_store(*, version: SequenceModelVersion) -> int:
    """Write the version's item vectors (bulk COPY, replacing any earlier rows), build its HNSW
    index, then mark it stored; the rows written, 0 when it was stored already. Safe to repeat
    after an interruption: rows are replaced in one transaction, an invalid index rebuilt.
    SequenceVectorsError when the version is untrained or has no file; OSError / ValueError
    when its file cannot be read."""
    version.refresh_from_db(fields=["status", "vectors_path", "vectors_stored_at"])
    if version.vectors_stored_at is not None:
        return 0
    if version.status not in SERVABLE:
        raise SequenceVectorsError(ERROR_NOT_SERVABLE.format(pk=version.pk, status=version.status))
    if not version.vectors_path:
        raise SequenceVectorsError(ERROR_NO_FILE.format(pk=version.pk))
    with np.load(version.vectors_path, allow_pickle=False) as stored:
        product_ids, vectors = stored["product_ids"], stored["vectors"]
    vector_set = item_vector_set(version_id=version.pk, dim=int(vectors.shape[1]))
    written = vector_store.item_vectors_write(vector_set, product_ids=product_ids, vectors=vectors)
    vector_store.item_vectors_index_build(vector_set)
    version.vectors_stored_at = timezone.now()
    version.save(update_fields=["vectors_stored_at"])
    # A process serving this version from its file moves to the index on its next request.
    similar_cache.serving_changed()
    logger.info("sequence version %s: %s item vectors stored and indexed", version.pk, written)
    return written


def sequence_vectors_backfill() -> dict[int, int | str]:
    """Store every trained version's vectors that are not stored yet: version id → rows written,
    or why it could not be (a lost file keeps that version on its file, as before)."""
    done: dict[int, int | str] = {}
    pending = SequenceModelVersion.objects.filter(status__in=SERVABLE, vectors_stored_at=None)
    for version in pending.exclude(vectors_path="").order_by("pk"):
        try:
            done[version.pk] = sequence_vectors_store(version=version)
        except (OSError, ValueError, KeyError, SequenceVectorsError) as exc:
            logger.error("sequence version %s: vectors not stored: %s", version.pk, exc)
            done[version.pk] = str(exc)
    return done


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
    """Active products without a row of the version that have some content to place them by."""
    has_content = Q(pk__in=[])
    if source.image_version is not None and source.image_dim:
        embedded = ProductEmbedding.objects.filter(
            model_version=source.image_version, embedding__isnull=False
        )
        has_content |= Q(pk__in=embedded.values("product_id"))
    if source.text_index is not None and source.text_dim:
        texts = ProductText.objects.filter(lexical_index_id=source.text_index)
        has_content |= Q(pk__in=texts.values("product_id"))
    rows = SequenceItemVector.objects.filter(version=version).values("product_id")
    products = Product.objects.filter(has_content, is_active=True).exclude(pk__in=rows)
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
        except (OSError, ValueError, KeyError) as exc:
            logger.error("sequence version %s: new products not placed: %s", version.pk, exc)
            continue
        if added:
            placed[version.pk] = added
    return placed
