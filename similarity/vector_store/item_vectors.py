"""Item vectors searched by maximum inner product (item_knn.py): a table of (owner, product,
vector) rows, one owner (e.g. a sequence model version) at a time, written in bulk by binary COPY
and then given its own partial HNSW index (`vector_ip_ops`), as image versions get theirs.

The table belongs to a higher app (behaviour's SequenceItemVector): it names the table and its
owner in an ItemVectorSet, so this package keeps all pgvector SQL without importing that app.
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from catalog.models import Product

from .indexes import HNSW_EF_CONSTRUCTION, HNSW_M, invalid_index_drop
from .item_copy import copy_rows

_NEW_ROWS = "item_vectors_new"  # item_vectors_add's staging table, dropped on commit


@dataclass(frozen=True)
class ItemVectorSet:
    """One owner's rows in `table`: `owner_column` = `owner`, vectors of `dim` dimensions."""

    table: str
    owner_column: str
    owner: int
    dim: int

    @property
    def column(self) -> str:
        """The vector column as the owner's index sees it: typed to the owner's dimensions."""
        return f"(vector::vector({int(self.dim)}))"

    @property
    def index_name(self) -> str:
        return f"{self.table}_ip_hnsw_{int(self.owner)}"


def item_vectors_write(
    vector_set: ItemVectorSet, *, product_ids: np.ndarray, vectors: np.ndarray
) -> int:
    """Replace the owner's rows with these (n,) product ids and (n, dim) finite float vectors,
    in one transaction (a reader sees the old rows or all the new ones); the rows written:
    those of products that still exist (`_of_existing_products`)."""
    product_ids, vectors = _checked(vector_set, product_ids, vectors)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {vector_set.table} WHERE {vector_set.owner_column} = %s",
            [vector_set.owner],
        )
        product_ids, vectors = _of_existing_products(cursor, product_ids, vectors)
        copy_rows(cursor, vector_set.table, vector_set, product_ids, vectors)
    return len(product_ids)


def item_vectors_add(
    vector_set: ItemVectorSet, *, product_ids: np.ndarray, vectors: np.ndarray
) -> int:
    """Add rows for products the owner has none for yet (its HNSW index takes them as they
    come); a product that has one keeps it, one deleted meanwhile gets none. The rows added."""
    product_ids, vectors = _checked(vector_set, product_ids, vectors)
    with transaction.atomic(), connection.cursor() as cursor:
        product_ids, vectors = _of_existing_products(cursor, product_ids, vectors)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_NEW_ROWS} ({vector_set.owner_column} bigint, "
            "product_id bigint, vector vector) ON COMMIT DROP"
        )
        copy_rows(cursor, _NEW_ROWS, vector_set, product_ids, vectors)
        columns = f"{vector_set.owner_column}, product_id, vector"
        cursor.execute(
            f"INSERT INTO {vector_set.table} ({columns}) SELECT {columns} FROM {_NEW_ROWS} "
            "ON CONFLICT DO NOTHING"
        )
        return cursor.rowcount


def _checked(
    vector_set: ItemVectorSet, product_ids: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    product_ids = np.asarray(product_ids, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (len(product_ids), vector_set.dim):
        raise ValueError(
            f"vectors are {vectors.shape}, expected ({len(product_ids)}, {vector_set.dim})"
        )
    if not np.isfinite(vectors).all():
        raise ValueError("vectors hold NaN or infinite values")
    return product_ids, vectors


def _of_existing_products(
    cursor, product_ids: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of products that still exist: vectors are computed from a catalogue read
    earlier (a model trained for hours), and one row of a product deleted since would fail the
    product foreign key and with it the whole write."""
    table, key = Product._meta.db_table, Product._meta.pk.column
    cursor.execute(f"SELECT {key} FROM {table} WHERE {key} = ANY(%s)", [product_ids.tolist()])
    existing = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    keep = np.isin(product_ids, existing)
    return product_ids[keep], vectors[keep]


def item_vectors_index_build(vector_set: ItemVectorSet) -> None:
    """The owner's HNSW index for maximum inner product, built after its rows are written (one
    bulk build is far faster than keeping the graph row by row); rebuilt when an interrupted
    build left it invalid. CONCURRENTLY outside a transaction, so serving is never blocked."""
    invalid_index_drop(name=vector_set.index_name)
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Deferred FK checks of rows written in this transaction would block CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, false)",
            [settings.PRODSIM_INDEX_BUILD_MEMORY],
        )
        cursor.execute(
            f"CREATE INDEX {concurrently} IF NOT EXISTS {vector_set.index_name} "
            f"ON {vector_set.table} USING hnsw ({vector_set.column} vector_ip_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE {vector_set.owner_column} = {int(vector_set.owner)}"
        )
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute(f"ANALYZE {vector_set.table}")


def item_vectors_index_drop(vector_set: ItemVectorSet) -> None:
    """CONCURRENTLY outside a transaction, so serving is never blocked."""
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {vector_set.index_name}")
