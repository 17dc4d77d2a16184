"""A new lexical index's rows written by binary COPY (vector_store.lexical says why a rebuild
writes beside the current index)."""

import struct
from collections.abc import Sequence

import numpy as np
from django.db import connection
from psycopg.errors import ForeignKeyViolation
from scipy import sparse as sp

from similarity.ml.lexical import DIMENSIONS
from similarity.ml.lexical.sketch import SKETCH_DIMENSIONS

from ..models import LexicalIndex
from .lexical import lexical_rows, rows_of_existing_products

# The variable-length vector last: every row is then a fixed-width record and a tail.
COPY_SQL = (
    "COPY similarity_producttext (lexical_index_id, product_id, sketch, text_sha256, vector) "
    "FROM STDIN (FORMAT BINARY)"
)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, extension
_COPY_TRAILER = struct.pack(">h", -1)
# One COPY row up to its vector's entries, as PostgreSQL's binary format spells it: the field
# count, then each field as its byte length and its binary value (pgvector's halfvec: dimensions,
# 0, float2s; sparsevec: dimensions, non-zeros, 0, then the indexes from 0 and the float4s).
_COPY_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        ("index_length", ">i4"),
        ("index", ">i8"),
        ("product_length", ">i4"),
        ("product", ">i8"),
        ("sketch_length", ">i4"),
        ("sketch_dimensions", ">i2"),
        ("sketch_unused", ">i2"),
        ("sketch", ">f2", (SKETCH_DIMENSIONS,)),
        ("sha_length", ">i4"),
        ("sha", "S64"),
        ("vector_length", ">i4"),
        ("vector_dimensions", ">i4"),
        ("vector_nonzeros", ">i4"),
        ("vector_unused", ">i4"),
    ]
)


def product_texts_copy(
    *, index: LexicalIndex, product_ids: Sequence[int], matrix: sp.csr_matrix, shas: Sequence[str]
) -> int:
    """Append these products' rows to `index` by binary COPY (empty vectors are skipped).

    For a new index only: COPY cannot replace a row. The rows come from a catalogue read
    minutes earlier; a product deleted since fails the COPY's foreign key, and the batch is
    then copied again without the products that are gone (a check the normal case never
    pays). Returns the rows written."""
    while True:
        payload, written = _copy_payload(index.pk, product_ids, matrix, shas)
        try:
            with connection.cursor() as cursor, cursor.cursor.copy(COPY_SQL) as copy:
                copy.write(payload)
            return written
        except ForeignKeyViolation:
            kept = rows_of_existing_products(product_ids)
            if len(kept) == len(product_ids):
                raise  # every product exists: the lexical index itself is gone
            product_ids = [product_ids[row] for row in kept]
            shas = [shas[row] for row in kept]
            matrix = matrix[kept]


def _copy_payload(
    index_pk: int, product_ids: Sequence[int], matrix: sp.csr_matrix, shas: Sequence[str]
) -> tuple[bytes, int]:
    """COPY_SQL's rows in PostgreSQL's binary format, header to trailer, and their number
    (`shas`: SHA-256 hex digests, one per row of `matrix`, as `product_ids`).

    Built in NumPy, each row's fixed-width part as one record: handing psycopg one row at a time
    was most of the client's work, done on the interpreter that vectorises the rebuild's next
    batch meanwhile."""
    if not len(product_ids) == len(shas) == matrix.shape[0]:
        raise ValueError("one product id and one text hash per row of the matrix")
    matrix, sketches = lexical_rows(matrix)
    nonzeros = np.diff(matrix.indptr)
    kept = np.flatnonzero(nonzeros)
    records = np.zeros(len(kept), _COPY_RECORD)
    records["fields"] = 5
    records["index_length"], records["index"] = 8, index_pk
    records["product_length"] = 8
    records["product"] = np.asarray(product_ids, dtype=np.int64)[kept]
    records["sketch_length"] = 4 + 2 * SKETCH_DIMENSIONS
    records["sketch_dimensions"] = SKETCH_DIMENSIONS
    records["sketch"] = sketches[kept]
    records["sha_length"] = 64
    records["sha"] = np.array(shas, dtype="S64")[kept]
    records["vector_length"] = 12 + 8 * nonzeros[kept]
    records["vector_dimensions"] = DIMENSIONS
    records["vector_nonzeros"] = nonzeros[kept]
    fixed, width = records.tobytes(), _COPY_RECORD.itemsize
    indices = matrix.indices.astype(">i4").tobytes()
    values = matrix.data.astype(">f4").tobytes()
    ends = (matrix.indptr * 4).tolist()
    parts = [_COPY_HEADER]
    for position, row in enumerate(kept.tolist()):
        start, end = ends[row], ends[row + 1]
        record = fixed[position * width : (position + 1) * width]
        parts += (record, indices[start:end], values[start:end])
    parts.append(_COPY_TRAILER)
    return b"".join(parts), len(kept)
