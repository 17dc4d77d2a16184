"""A full rebuild of the lexical index: the IDF fitted on today's catalogue, every product
vectorised and written in bulk beside the current index, its HNSW built once, then the switch.
No TensorFlow."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial

import numpy as np
from django.db import DatabaseError, connection, transaction

from catalog import selectors as catalog_selectors
from core.background_writes import background_writes

from .. import cache as similar_cache
from .. import vector_store
from ..ml import lexical
from ..ml.lexical import tuning
from ..models import LexicalIndex
from ..selectors import current_lexical_index
from .lexical_pairs import ERROR_TOO_FEW, MIN_PAIRS, MatchedPairs, PairsError
from .lexical_records import product_record, record_sha, records_as_columns

logger = logging.getLogger(__name__)
WRITE_BATCH = lexical.COUNT_BATCH  # products vectorised and written at a time
WRITES_LOCK_ID = 0x6C65_7869  # "lexi": lexical_writes_serialised()'s advisory lock
LOCK_POLL_S = 0.5  # a waiting writer asks again this often (rebuilds take a minute or more)


def lexical_index_rebuild(*, tune: bool = False, pairs: MatchedPairs | None = None) -> LexicalIndex:
    """Fit the IDF on today's catalogue, vectorise every product, then switch atomically.

    The new index's rows are written in bulk beside the current index's, its HNSW is built
    once they are all there, and only then does it become current: search answers from the
    old index throughout (vector_store.lexical says why). One rebuild runs at a time, and no
    refresh beside it; a failed one leaves nothing behind. The field weights are tuned on the
    catalogue when `tune` is set or no index was tuned yet (on the shop's matched records when
    `pairs` are given, lexical_pairs); otherwise the current index's weights carry over.
    """
    with lexical_writes_serialised():
        _unfinished_builds_drop()
        # The catalogue's texts and counts are gone before the HNSW build, so the build's
        # memory in PostgreSQL takes their place instead of adding to it.
        index = _rows_written(tune=tune, pairs=pairs)
        with _dropped_on_failure(index):
            vector_store.lexical_hnsw_build(index=index, products=index.documents)
        _switch_to(index)
    logger.info("Lexical index %s built over %s products", index.pk, index.documents)
    return index


def _rows_written(*, tune: bool, pairs: MatchedPairs | None) -> LexicalIndex:
    """A new lexical index (not yet current) with every active product's row written."""
    facts = catalog_selectors.product_facts()
    records = [product_record(item) for item in facts]
    columns = records_as_columns(records)
    targets = _pair_rows(facts, pairs)
    config, tuning_json = _weights(columns, tune=tune or pairs is not None, pairs=targets)
    batches = lexical.catalogue_counts(columns, config, batch=WRITE_BATCH)
    idf = lexical.idf_of_batches(batches)
    index = LexicalIndex.objects.create(
        documents=idf.documents, idf=idf.as_json(), config=config.as_json(), tuning=tuning_json
    )
    with _dropped_on_failure(index):
        # An index of this name can outlive its rows (a database flushed or restored under
        # it): the COPY would then maintain it row by row.
        vector_store.lexical_hnsw_drop(index_pk=index.pk)
        ids = [item.product_id for item in facts]
        # Each batch's COPY overlaps the vectorising of the next.
        with background_writes(name="lexical-copy") as write:
            for number, rows in enumerate(_batch_slices(len(ids))):
                counts, batches[number] = batches[number], None  # freed once written
                vectors = lexical.combine(
                    lexical.field_vectors(counts, idf, config), config.fields, catalogue=True
                )
                shas = [record_sha(record) for record in records[rows]]
                write(
                    partial(
                        vector_store.product_texts_copy,
                        index=index,
                        product_ids=ids[rows],
                        matrix=vectors,
                        shas=shas,
                    )
                )
    return index


@contextmanager
def _dropped_on_failure(index: LexicalIndex) -> Iterator[None]:
    """A new index whose rows or HNSW fail midway is dropped, then the error goes on."""
    try:
        yield
    except BaseException:
        _index_drop(index.pk)
        raise


def _batch_slices(size: int) -> list[slice]:
    return [slice(start, start + WRITE_BATCH) for start in range(0, size, WRITE_BATCH)]


def _switch_to(index: LexicalIndex) -> None:
    with transaction.atomic():
        LexicalIndex.objects.filter(is_current=True).update(is_current=False)
        LexicalIndex.objects.filter(pk=index.pk).update(is_current=True)
        similar_cache.serving_changed()
    index.is_current = True
    for old in LexicalIndex.objects.exclude(pk=index.pk).values_list("pk", flat=True):
        _index_drop(old)


def _index_drop(index_pk: int) -> None:
    vector_store.lexical_hnsw_drop(index_pk=index_pk)
    LexicalIndex.objects.filter(pk=index_pk).delete()


def _unfinished_builds_drop() -> None:
    """A rebuild killed midway (worker lost) left a lexical index that never became current."""
    for pk in LexicalIndex.objects.filter(is_current=False).values_list("pk", flat=True):
        logger.info("Dropping lexical index %s, left by an unfinished rebuild", pk)
        _index_drop(pk)


@contextmanager
def lexical_writes_serialised() -> Iterator[None]:
    """Rebuilds and refreshes queue on one session advisory lock (re-entrant: a refresh may
    start a rebuild). Two rebuilds at once would each drop the other's rows, and a refresh
    during a rebuild would write to the index about to be replaced: waiting, it compares the
    products with the new index and re-vectorises those changed since the rebuild read them.
    Taken before any transaction of the rebuild, so the next writer sees what this one wrote.

    Polled, not waited for in PostgreSQL: CREATE INDEX CONCURRENTLY waits for every transaction
    in progress, so a writer blocked inside pg_advisory_lock would deadlock with the rebuild's
    index build."""
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [WRITES_LOCK_ID])
            if cursor.fetchone()[0]:
                break
        time.sleep(LOCK_POLL_S)
    try:
        yield
    finally:
        # A connection lost midway took the lock with it: nothing left to release.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [WRITES_LOCK_ID])


def _pair_rows(facts, pairs: MatchedPairs | None) -> tuple[lexical.Columns, np.ndarray] | None:
    """The matched records with the catalogue row of each one's product. Reading them left out
    withdrawn products; one withdrawn or deleted since has no row either: its records are left
    out, and PairsError is raised when fewer than MIN_PAIRS remain."""
    if pairs is None:
        return None
    row_of = {item.product_id: row for row, item in enumerate(facts)}
    keep = [i for i, pid in enumerate(pairs.product_ids) if pid in row_of]
    if len(keep) < len(pairs.product_ids):
        logger.warning(
            "%s matched records left out: their products were withdrawn since the file was read",
            len(pairs.product_ids) - len(keep),
        )
    if len(keep) < MIN_PAIRS:
        raise PairsError(ERROR_TOO_FEW.format(valid=len(keep), minimum=MIN_PAIRS))
    queries = {name: [texts[i] for i in keep] for name, texts in pairs.queries.items()}
    return queries, np.array([row_of[pairs.product_ids[i]] for i in keep], dtype=np.int64)


def _weights(
    columns: lexical.Columns, *, tune: bool, pairs: tuple[lexical.Columns, np.ndarray] | None
) -> tuple[lexical.LexicalConfig, dict]:
    current = current_lexical_index()
    if not tune and current is not None and current.tuning and "fields" in current.config:
        return lexical.LexicalConfig.from_json(current.config), current.tuning
    result = tuning.tune(columns, pairs=pairs)
    logger.info("Lexical field weights: %s (%s)", result.config.fields, result.note)
    return result.config, result.as_json()
