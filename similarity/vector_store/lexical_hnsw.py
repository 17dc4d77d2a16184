"""One HNSW index per lexical index, over its rows' sketches: built once all its rows are
written (pgvector's bulk build, in parallel), dropped before its rows go."""

import logging

from django.db import connection

from ..models import LexicalIndex

logger = logging.getLogger(__name__)

HNSW_M = 16
# Sketches of text vectors are spread almost evenly over the sphere, where HNSW needs a good
# graph; the build's cost grows with ef_construction, the search's with ef_search. Measured side
# by side at 100k products (docs/BENCHMARKS.md, lexical-db, "A cheaper graph, walked wider"):
# 64, the image indexes' value, builds about 30 % faster than 100, and /match's wider walk
# (lexical.SKETCH_EF_SEARCH) finds the exact top 1 at least as often as 100 did at the session's
# ef_search. Similar lists, whose one statement walks both indexes at the session's ef_search,
# agree with the exact scan a little less often. m 12 lost to 16.
HNSW_EF_CONSTRUCTION = 64
BUILD_WORKERS = 2  # parallel HNSW build: 53 s alone, 40 s with two workers (100k, loaded)
# maintenance_work_mem of the build: the graph must fit, or pgvector inserts the rest on disk,
# far slower. The graph takes about 1,240 bytes per sketch in memory (100k sketches spilled
# after 96.6k with 1,200 bytes each), more than the 80 MB index it writes; a third more leaves
# room for the upper layers' variance. At least 64 MB.
BUILD_MEMORY_BYTES_PER_PRODUCT = 1_600


def lexical_hnsw_name(index_pk: int) -> str:
    return f"similarity_pt_sketch_hnsw_l{int(index_pk)}"


def lexical_hnsw_build(*, index: LexicalIndex, products: int) -> None:
    """Build the sketch HNSW of `index` over its rows, once they are all written.

    Outside a transaction the build is CONCURRENTLY: refreshes of the serving index's rows and
    catalogue deletes are not blocked while the new index builds.
    """
    name = lexical_hnsw_name(index.pk)
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    memory = max(products * BUILD_MEMORY_BYTES_PER_PRODUCT // 2**20, 64)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Deferred FK checks of rows written in this transaction would block CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")  # an interrupted build's
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, false), "
            "set_config('max_parallel_maintenance_workers', %s, false)",
            [f"{memory}MB", str(BUILD_WORKERS)],
        )
        # pgvector tells only the client when the graph outgrew the build's memory.
        connection.connection.add_notice_handler(_notice_logged)
        try:
            cursor.execute(
                f"CREATE INDEX {concurrently} {name} ON similarity_producttext "
                f"USING hnsw (sketch halfvec_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE lexical_index_id = {int(index.pk)}"
            )
        finally:
            connection.connection.remove_notice_handler(_notice_logged)
        cursor.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers")
        # Fresh statistics, so the planner knows how many rows the new index's HNSW covers.
        cursor.execute("ANALYZE similarity_producttext")


def _notice_logged(diagnostic) -> None:
    logger.warning("Lexical HNSW build: %s", diagnostic.message_primary)


def lexical_hnsw_drop(*, index_pk: int) -> None:
    """Drop a lexical index's HNSW before its rows go, so VACUUM need not repair the graph
    for each deleted row."""
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {lexical_hnsw_name(index_pk)}")
