"""A sequence model version's output item vectors in pgvector, where the recommendations' sequence
signal searches them by inner product through the version's own HNSW index.

Stored once per version, from the version's vectors file, when it is activated and by
`manage.py sequence_vectors` (versions trained before vectors moved into pgvector, and A/B test
candidates that were never activated). A version not stored yet still serves: from its file, by
the exact NumPy product (selectors.recommendations.sequence).

Products added after a version trained get their rows later (placement.py).
"""

import logging

import numpy as np
from django.db import DataError, IntegrityError
from django.utils import timezone

from behaviour.ml.sequence.artifacts import UNREADABLE
from core.locks import SEQUENCE_VECTOR_STORES, session_lock_tried
from similarity import cache as similar_cache
from similarity import vector_store
from similarity.vector_store import ItemVectorSet

from ...models import SequenceItemVector, SequenceModelVersion

logger = logging.getLogger(__name__)

SERVABLE = (
    SequenceModelVersion.Status.READY,
    SequenceModelVersion.Status.ACTIVE,
    SequenceModelVersion.Status.ARCHIVED,
)
ERROR_NO_FILE = "sequence version {pk} has no vectors file to store"
ERROR_NOT_SERVABLE = "sequence version {pk} is {status}: only trained versions' vectors are stored"
# Why storing a version's vectors can fail and the version still serve from its file: a file
# lost or damaged, or rows the database refuses (a product deleted during the write). A database
# outage is not one of them: the caller's retry policy handles it (core.outages).
STORE_FAILURES = (*UNREADABLE, IntegrityError, DataError)


class SequenceVectorsError(Exception):
    """A version whose vectors cannot be stored; the message says why."""


def item_vector_set(*, version_id: int, dim: int) -> ItemVectorSet:
    """Where the version's vectors live for the vector store."""
    table = SequenceItemVector._meta.db_table
    return ItemVectorSet(table=table, owner_column="version_id", owner=version_id, dim=dim)


def sequence_vectors_store(*, version: SequenceModelVersion) -> int:
    """Write the version's item vectors (bulk COPY, replacing any earlier rows), build its HNSW
    index, then mark it stored; the rows written, 0 when it was stored already (or another
    process is storing it now). Safe to repeat
    after an interruption: rows are replaced in one transaction, an invalid index rebuilt.
    SequenceVectorsError when the version is untrained or has no file; OSError / ValueError
    when its file cannot be read."""
    # One store of a version at a time: a second (an admin activating the version a training is
    # storing) would delete the first's rows and drop its index mid-build. It leaves the work to
    # the first; the version serves from its file until that is done.
    with session_lock_tried(SEQUENCE_VECTOR_STORES, version.pk) as held:
        if not held:
            logger.info("sequence version %s: its vectors are being stored already", version.pk)
            return 0
        return _store(version)


def _store(version: SequenceModelVersion) -> int:
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
        except (*STORE_FAILURES, SequenceVectorsError) as exc:
            logger.error("sequence version %s: vectors not stored: %s", version.pk, exc)
            done[version.pk] = str(exc)
    return done
