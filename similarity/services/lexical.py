"""Lexical text vectors of the catalogue: fit the IDF and the field weights, store each
product's sparse vector, and keep changed products current between rebuilds. No TensorFlow.

After an import only products whose fields changed are re-vectorised (with the current IDF
and weights); the IDF is refitted by a full rebuild once the changes since the fit reach
`lexical.IDF_DRIFT_SHARE` of the catalogue.
"""

import logging

from django.db import transaction
from django.db.models import F

from catalog import selectors as catalog_selectors
from core.tasks import enqueue_on_commit

from .. import cache as similar_cache
from .. import vector_store
from ..ml import lexical
from ..ml.lexical import tuning
from ..models import LexicalIndex, ProductText
from ..selectors import current_lexical_index
from .catalogue_changes import LEXICAL_REBUILD_TASK, similar_lists_stale
from .lexical_records import product_record, product_text, record_sha, records_as_columns

logger = logging.getLogger(__name__)
WRITE_BATCH = lexical.COUNT_BATCH  # products vectorised and written at a time

__all__ = ["lexical_index_rebuild", "product_text", "product_texts_refresh"]


def lexical_index_rebuild(*, tune: bool = False) -> LexicalIndex:
    """Fit the IDF on today's catalogue, vectorise every product, then switch atomically.

    The field weights are tuned on the catalogue when `tune` is set or no index was tuned
    yet; otherwise the current index's weights carry over.
    """
    facts = catalog_selectors.product_facts()
    records = [product_record(item) for item in facts]
    columns = records_as_columns(records)
    config, tuning_json = _weights(columns, tune=tune)
    batches = lexical.catalogue_counts(columns, config, batch=WRITE_BATCH)
    idf = lexical.idf_of_batches(batches)
    index = LexicalIndex.objects.create(
        documents=idf.documents, idf=idf.as_json(), config=config.as_json(), tuning=tuning_json
    )
    ids = [item.product_id for item in facts]
    for number, counts in enumerate(batches):
        rows = slice(number * WRITE_BATCH, (number + 1) * WRITE_BATCH)
        vectors = lexical.combine(
            lexical.field_vectors(counts, idf, config), config.fields, catalogue=True
        )
        _write(index, ids[rows], vectors, records[rows])
    with transaction.atomic():
        LexicalIndex.objects.filter(is_current=True).update(is_current=False)
        LexicalIndex.objects.filter(pk=index.pk).update(is_current=True)
        similar_cache.serving_changed()
    LexicalIndex.objects.exclude(pk=index.pk).delete()
    logger.info("Lexical index %s built over %s products", index.pk, idf.documents)
    index.is_current = True
    return index


def _weights(columns: lexical.Columns, *, tune: bool) -> tuple[lexical.LexicalConfig, dict]:
    current = current_lexical_index()
    if not tune and current is not None and current.tuning and "fields" in current.config:
        return lexical.LexicalConfig.from_json(current.config), current.tuning
    result = tuning.tune(columns)
    logger.info("Lexical field weights: %s (%s)", result.config.fields, result.note)
    return result.config, result.as_json()


def _write(index, product_ids: list[int], vectors, records: list[dict]) -> None:
    vector_store.product_texts_upsert(
        index=index,
        product_ids=product_ids,
        vectors=lexical.rows_as_dicts(vectors),
        shas=[record_sha(record) for record in records],
    )


def product_texts_refresh(*, product_ids: list[int]) -> int:
    """Re-vectorise those of these products whose fields changed (current IDF and weights);
    drop the vectors of products no longer active. Returns how many products changed.

    Enqueues a full rebuild once the changes since the IDF fit reach IDF_DRIFT_SHARE.
    """
    index = current_lexical_index()
    if index is None or "fields" not in index.config:
        # No index yet, or one built before field weights: its buckets are not this code's.
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
    gone = [pid for pid in stored if pid not in records]
    if changed:
        idf, config = lexical.IdfTable.from_json(index.idf), _config(index)
        for start in range(0, len(changed), WRITE_BATCH):
            ids = changed[start : start + WRITE_BATCH]
            batch = [records[pid] for pid in ids]
            vectors = lexical.vectorise_columns(
                records_as_columns(batch), idf, config, catalogue=True
            )
            _write(index, ids, vectors, batch)
    ProductText.objects.filter(lexical_index=index, product_id__in=gone).delete()
    _count_drift(index, len(changed) + len(gone))
    similar_lists_stale(product_ids=product_ids)
    return len(changed) + len(gone)


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
