"""Embed product images with a model version and keep product vectors in step.

Work runs in image-id order with a cursor, so an interrupted run resumes where it stopped, and
every write is an upsert, so repeating a batch never duplicates vectors. Decoding of the next
batch overlaps inference of the current one (Pillow releases the GIL while decoding).
"""

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from catalog import selectors as catalog_selectors
from catalog.selectors import ImageRecord

from .. import vector_store
from ..ml.embedder import get_embedder
from ..ml.preprocessing import ImageDecodeError, load_image
from ..models import ModelVersion
from .catalogue_changes import similar_lists_stale
from .learned_text import product_text_vectors_refresh

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64
DECODE_THREADS = 2  # one per core: decoding and inference then keep both cores busy


@dataclass
class EmbedProgress:
    total: int
    done: int = 0
    failed: int = 0
    cursor: int = 0  # the last image id handled; resume after it
    images_per_s: float = 0.0
    eta_s: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _batches(records: list[ImageRecord], size: int) -> Iterator[list[ImageRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _decode(record: ImageRecord, size: int) -> np.ndarray | None:
    try:
        data = catalog_selectors.image_read(file_name=record.file_name)
        # Catalogue images were checked against this limit, which may be above load_image's own.
        return load_image(data, size=size, max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS)
    except (ImageDecodeError, OSError) as exc:
        logger.warning("Image %s cannot be embedded: %s", record.image_id, exc)
        return None


def images_to_embed(
    *,
    version: ModelVersion,
    only_missing: bool,
    after_id: int = 0,
    product_ids: list[int] | None = None,
) -> list[ImageRecord]:
    """Images still needing a vector: all, or only those without an up-to-date one."""
    records = catalog_selectors.image_records(after_id=after_id, product_ids=product_ids)
    if not only_missing:
        return records
    stored = vector_store.embedded_image_shas(version=version)
    return [record for record in records if stored.get(record.image_id) != record.sha256]


def images_embed(
    *,
    version: ModelVersion,
    records: list[ImageRecord],
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[EmbedProgress], None] | None = None,
) -> EmbedProgress:
    """Embed `records` with `version` and refresh the touched products' vectors."""
    embedder = get_embedder(version.artifact_dir)
    state = EmbedProgress(total=len(records))
    started = time.monotonic()
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        batches = _batches(records, batch_size)
        pending = _submit(pool, next(batches, None), version.input_size)
        while pending is not None:
            batch, decoded_futures = pending
            pending = _submit(pool, next(batches, None), version.input_size)
            decoded = [future.result() for future in decoded_futures]
            _write_batch(version, embedder, batch, decoded, state)
            _update_rate(state, started)
            if progress:
                progress(state)
    return state


def products_embed(*, version: ModelVersion, product_ids: list[int]) -> EmbedProgress:
    """Embed the new or changed images of these products and refresh all their product vectors:
    a product that only lost images has nothing to embed, yet its vector must follow (and go
    when no image is left)."""
    records = images_to_embed(version=version, only_missing=True, product_ids=product_ids)
    return _records_embed(version, records, product_ids)


def _records_embed(
    version: ModelVersion, records: list[ImageRecord], product_ids: list[int]
) -> EmbedProgress:
    state = images_embed(version=version, records=records)
    # A new product's row is written just now: the text refresh (its own task) may have run
    # before there was a row to give its learned text vector to. Only products with new image
    # vectors (an import passes every product it touched). Not per batch in images_embed:
    # training embeds before its text tower exists.
    embedded = sorted({record.product_id for record in records})
    product_text_vectors_refresh(version=version, product_ids=embedded)
    _product_vectors_refresh(version, sorted(set(product_ids)))
    return state


def version_with_status(version_id: int, status: str) -> ModelVersion | None:
    """The version while it has `status` (a task queued for it may run after it moved on)."""
    return ModelVersion.objects.filter(pk=version_id, status=status).first()


def missing_images_embed(
    *, version: ModelVersion, while_status: str = ModelVersion.Status.ACTIVE
) -> EmbedProgress | None:
    """Embed with `version`, while it has `while_status`, every image it has no up-to-date
    vector of, and bring its product vectors up to date: products imported or changed after its
    training embedded the catalogue (while it built its index or text tower, or sat ready) were
    embedded with the version active then only.
    Run at its activation (active), or as an A/B test starts with it as the candidate (ready).
    None once its status moved on (a rollback or another activation since: that version's own
    run embeds what it lacks)."""
    if version_with_status(version.pk, while_status) is None:
        return None
    records = images_to_embed(version=version, only_missing=True)
    embedded = sorted({record.product_id for record in records})
    # What else changed while it served nobody (words edited, photos removed); the products
    # embedded now are refreshed with their new photos' vectors.
    behind = sorted(
        set(vector_store.products_changed_since_their_vectors(version=version)) - set(embedded)
    )
    state = _records_embed(version, records, embedded) if records else EmbedProgress(total=0)
    if behind:
        product_text_vectors_refresh(version=version, product_ids=behind)
        _product_vectors_refresh(version, behind)
    return state


def _product_vectors_refresh(version: ModelVersion, product_ids: list[int]) -> None:
    vector_store.product_embeddings_refresh(version=version, product_ids=product_ids)
    # Read now, not from `version`: a long run may see its version activated half-way.
    if ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.ACTIVE).exists():
        similar_lists_stale(product_ids=product_ids)  # what shoppers see just changed


def _submit(pool, batch, size):
    if batch is None:
        return None
    return batch, [pool.submit(_decode, record, size) for record in batch]


def _write_batch(version, embedder, batch, decoded, state: EmbedProgress) -> None:
    kept = [
        (record, array) for record, array in zip(batch, decoded, strict=True) if array is not None
    ]
    state.failed += len(batch) - len(kept)
    if kept:
        vectors = embedder.embed(np.stack([array for _, array in kept]))
        written = vector_store.image_embeddings_upsert(
            version=version,
            image_ids=[record.image_id for record, _ in kept],
            shas=[record.sha256 for record, _ in kept],
            vectors=vectors,
        )
        if written < len(kept):  # their products were deleted or re-photographed meanwhile
            logger.info(
                "v%s: %s images gone before their vectors were written",
                version.pk,
                len(kept) - written,
            )
        product_ids = sorted({record.product_id for record, _ in kept})
        _product_vectors_refresh(version, product_ids)
    state.done += len(batch)
    state.cursor = batch[-1].image_id


def _update_rate(state: EmbedProgress, started: float) -> None:
    elapsed = time.monotonic() - started
    state.images_per_s = round(state.done / elapsed, 1) if elapsed else 0.0
    remaining = state.total - state.done
    state.eta_s = round(remaining / state.images_per_s) if state.images_per_s else None
