"""Lexical text vectors of the catalogue: fit the IDF and the field weights, store each
product's sparse vector, and keep changed products current between rebuilds. No TensorFlow.

After an import only products whose fields changed are re-vectorised (with the current IDF
and weights); the IDF is refitted by a full rebuild once the changes since the fit reach
`lexical.IDF_DRIFT_SHARE` of the catalogue.
"""

import logging

from django.db.models import F

from catalog import selectors as catalog_selectors
from core.tasks import enqueue_on_commit

from .. import vector_store
from ..ml import lexical
from ..models import LexicalIndex, ProductText
from ..selectors import active_version, current_lexical_index
from .catalogue_changes import LEXICAL_REBUILD_TASK, similar_lists_stale
from .learned_text import product_text_vectors_refresh
from .lexical_rebuild import WRITE_BATCH, lexical_index_rebuild, lexical_writes_serialised
from .lexical_records import product_record, product_text, record_sha, records_as_columns

logger = logging.getLogger(__name__)

__all__ = ["lexical_index_rebuild", "product_text", "product_texts_refresh"]


def _write(index, product_ids: list[int], vectors, records: list[dict]) -> list[int]:
    return vector_store.product_texts_write(
        index=index,
        product_ids=product_ids,
        matrix=vectors,
        shas=[record_sha(record) for record in records],
    )


def product_texts_refresh(*, product_ids: list[int]) -> int:
    """Re-vectorise those of these products whose fields changed (current IDF and weights);
    drop the vectors of products no longer active. Returns how many products changed.

    Enqueues a full rebuild once the changes since the IDF fit reach IDF_DRIFT_SHARE. Waits
    for a rebuild in progress, then compares the products with the index it built. The active
    version's learned text vectors of the products whose text changed are re-encoded before
    their lists go stale, so those are recomputed from them.
    """
    with lexical_writes_serialised():
        return _refresh(product_ids)


def _refresh(product_ids: list[int]) -> int:
    index = current_lexical_index()
    if index is None or "fields" not in index.config:
        # No index yet, or one built before field weights: its buckets are not this code's.
        product_text_vectors_refresh(version=active_version(), product_ids=product_ids)
        lexical_index_rebuild()
        return len(product_ids)
    facts = catalog_selectors.product_facts(product_ids=product_ids)
    records = {item.product_id: product_record(item) for item in facts}
    stored = dict(
        ProductText.objects.filter(lexical_index=index, product_id__in=product_ids).values_list(
            "product_id", "text_sha256"
        )
    )
    changed = [pid for pid, record in records.items() if stored.get(pid) != record_sha(record)]
    # The text tower reads the same text (lexical_records.product_text): only an edit moves it.
    product_text_vectors_refresh(version=active_version(), product_ids=changed)
    written = _revectorise(index, {pid: records[pid] for pid in changed})
    # A product without indexable terms has no row (as after a rebuild): one that lost its
    # terms loses its row, and one that never had any is no change however often it is seen.
    gone = [pid for pid in stored if pid not in records or (pid in changed and pid not in written)]
    ProductText.objects.filter(lexical_index=index, product_id__in=gone).delete()
    _count_drift(index, len(written) + len(gone))
    similar_lists_stale(product_ids=product_ids)
    return len(written) + len(gone)


def _revectorise(index: LexicalIndex, records: dict[int, dict]) -> set[int]:
    """Write the vectors of these products (current IDF and weights); returns those written."""
    written: set[int] = set()
    if not records:
        return written
    idf, config = lexical.IdfTable.from_json(index.idf), _config(index)
    ids = list(records)
    for start in range(0, len(ids), WRITE_BATCH):
        batch_ids = ids[start : start + WRITE_BATCH]
        batch = [records[pid] for pid in batch_ids]
        vectors = lexical.vectorise_columns(records_as_columns(batch), idf, config, catalogue=True)
        written.update(_write(index, batch_ids, vectors, batch))
    return written


def _config(index: LexicalIndex) -> lexical.LexicalConfig:
    return (
        lexical.LexicalConfig.from_json(index.config) if index.config else lexical.LexicalConfig()
    )


def _count_drift(index: LexicalIndex, changes: int) -> None:
    if not changes:
        return
    LexicalIndex.objects.filter(pk=index.pk).update(
        changed_products=F("changed_products") + changes
    )
    index.refresh_from_db(fields=["changed_products"])
    if lexical.idf_needs_refit(
        documents_at_fit=index.documents, changed_since_fit=index.changed_products
    ):
        logger.info("Lexical index %s drifted (%s changes): rebuild", index.pk, changes)
        enqueue_on_commit(LEXICAL_REBUILD_TASK)
