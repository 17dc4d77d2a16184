"""Per-version HNSW indexes: names, builds, drops, and what interrupted builds leave behind."""

from django.conf import settings
from django.db import connection

from ..models import ModelVersion
from .sql import OPCLASSES, expression

HNSW_M = 16  # pgvector defaults; recall ≥ 0.99 at ef_search 100 on catalogue-sized sets
HNSW_EF_CONSTRUCTION = 64
# maintenance_work_mem for HNSW builds comes from settings.PRODSIM_INDEX_BUILD_MEMORY: 512MB
# holds the graph of ~300k 256-d vectors; 1M needs ~3GB (717 s build, bench/similar_latency.py),
# otherwise the build spills and takes over 100 minutes.


def index_name(version: ModelVersion) -> str:
    return f"similarity_pe_hnsw_v{int(version.pk)}"


def text_index_name(version: ModelVersion) -> str:
    return f"similarity_pe_text_hnsw_v{int(version.pk)}"


def hnsw_index_exists(*, version: ModelVersion) -> bool | None:
    """True: a valid index exists; False: an interrupted build left an invalid one; None: none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT index.indisvalid FROM pg_index index JOIN pg_class class "
            "ON class.oid = index.indexrelid WHERE class.relname = %s",
            [index_name(version)],
        )
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def hnsw_index_build(*, version: ModelVersion) -> None:
    """Build the version's HNSW index; rebuild it when an earlier build was interrupted.

    Outside a transaction the build is CONCURRENTLY, so the serving version's queries and new
    vectors are never blocked while a candidate version is indexed.
    """
    state = hnsw_index_exists(version=version)
    if state is True:
        return
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Deferred FK checks of rows written in this transaction would block CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if state is False:
            cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {index_name(version)}")
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, false)",
            [settings.PRODSIM_INDEX_BUILD_MEMORY],
        )
        cursor.execute(
            f"CREATE INDEX {concurrently} {index_name(version)} "
            f"ON similarity_productembedding USING hnsw "
            f"({expression(version)} {OPCLASSES[version.metric]}) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE model_version_id = {int(version.pk)}"
        )
        cursor.execute("RESET maintenance_work_mem")
        # Fresh statistics, so the planner knows how many rows the version's index covers.
        cursor.execute("ANALYZE similarity_productembedding")


def hnsw_index_drop(*, version: ModelVersion) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {index_name(version)}")


def text_hnsw_index_build(*, version: ModelVersion) -> None:
    """HNSW index on the version's text-tower vectors (learned-text candidates)."""
    invalid_index_drop(name=text_index_name(version))
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        cursor.execute(
            f"CREATE INDEX {concurrently} IF NOT EXISTS {text_index_name(version)} "
            f"ON similarity_productembedding USING hnsw "
            f"({expression(version, 'text_embedding')} {OPCLASSES[version.metric]}) "
            f"WHERE model_version_id = {int(version.pk)}"
        )


def invalid_index_drop(*, name: str) -> bool:
    """Drop index `name` if an interrupted CREATE INDEX CONCURRENTLY left it INVALID.

    PostgreSQL keeps such an index (never used by queries, still maintained on every write) and
    `IF NOT EXISTS` would skip rebuilding it forever. Returns whether one was dropped.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT index.indisvalid FROM pg_index index JOIN pg_class class "
            "ON class.oid = index.indexrelid WHERE class.relname = %s",
            [name],
        )
        row = cursor.fetchone()
        if not (row and row[0]):
            return False
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
    return True


def version_indexes_drop(*, version: ModelVersion) -> None:
    """Drop the version's image and text indexes: a failed or deleted version leaves neither
    behind. CONCURRENTLY outside a transaction (a plain drop locks the table against serving
    until its transaction ends)."""
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        for name in (index_name(version), text_index_name(version)):
            cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
