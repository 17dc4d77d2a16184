"""Item vectors into PostgreSQL by binary COPY (item_vectors.py): rows built by NumPy in one
pass, no per-row Python, in chunks of bounded memory."""

import struct

import numpy as np

# Binary COPY framing (PostgreSQL docs, "COPY ... BINARY"): signature, flags, header extension.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
COPY_ROWS = 20_000  # rows per COPY chunk: bounded memory, few round trips


def copy_rows(cursor, table: str, vector_set, product_ids, vectors) -> None:
    """The rows into `table` by binary COPY, COPY_ROWS at a time."""
    copy_sql = (
        f"COPY {table} ({vector_set.owner_column}, product_id, vector) FROM STDIN (FORMAT BINARY)"
    )
    for start in range(0, len(product_ids), COPY_ROWS):
        chunk = slice(start, start + COPY_ROWS)
        with cursor.copy(copy_sql) as copy:
            copy.write(_binary_rows(vector_set, product_ids[chunk], vectors[chunk]))


def _binary_rows(vector_set, product_ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """The rows as one binary COPY stream, built by NumPy in one pass (no per-row Python): each
    row is 3 fields (owner int8, product int8, pgvector's binary vector: dim, 0, float4s)."""
    dim = vector_set.dim
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("owner_len", ">i4"),
            ("owner", ">i8"),
            ("product_len", ">i4"),
            ("product", ">i8"),
            ("vector_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vector", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(len(product_ids), dtype=row)
    rows["fields"], rows["owner_len"], rows["owner"] = 3, 8, vector_set.owner
    rows["product_len"], rows["product"] = 8, product_ids
    rows["vector_len"], rows["dim"], rows["vector"] = 4 + 4 * dim, dim, vectors
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER
