"""A short dense sketch of a lexical vector: what the approximate nearest-neighbour index walks.

pgvector's HNSW over the 2**20-bucket sparse vectors costs a merge of two index lists per
distance and builds at a few milliseconds per product (10,000 products took 45 s on this
machine), far from a million in minutes. A count sketch (each bucket added, with a sign, into
one of SKETCH_DIMENSIONS slots) keeps inner products in expectation, so the sketch's nearest
products hold the sparse vector's nearest ones; the exact sparse cosine then ranks those
candidates. Dense HNSW over the sketch builds about as fast as image vectors do.

The slot and sign of a bucket use only integer arithmetic that fits in a signed 64-bit
integer, so PostgreSQL computes the same sketch of a query (`SKETCH_SQL`) as NumPy does of the
catalogue here.
"""

import numpy as np
from scipy import sparse

# 128, 256 and 384 measured on both dev sets (NumPy, exact top candidates re-ranked exactly):
# with 200 candidates 256 slots keep walmart-amazon's R@1 and lose 0.002 on abt-buy, 128 lost
# 0.007 there and 384 gained 0.001 over 256 for a half larger index.
SKETCH_DIMENSIONS = 256
_MULTIPLIER = 2654435761  # Knuth's multiplicative constant; bucket * it stays below 2**52
_OFFSET = 97
_PRIME = 4294967291  # the largest prime below 2**32


def _hashed(buckets: np.ndarray) -> np.ndarray:
    return (buckets.astype(np.int64) * _MULTIPLIER + _OFFSET) % _PRIME


def sketch_rows(matrix: sparse.csr_matrix) -> np.ndarray:
    """float32 (rows, SKETCH_DIMENSIONS): each row's count sketch, L2-normalised (an empty row
    stays all zeros). `matrix` holds lexical vectors (CSR, DIMENSIONS columns)."""
    matrix = matrix.tocsr()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    hashed = _hashed(matrix.indices)
    signs = np.where((hashed // SKETCH_DIMENSIONS) % 2 == 1, 1.0, -1.0)
    flat = rows * SKETCH_DIMENSIONS + hashed % SKETCH_DIMENSIONS
    sums = np.bincount(
        flat, weights=signs * matrix.data, minlength=matrix.shape[0] * SKETCH_DIMENSIONS
    )
    sketches = sums.reshape(matrix.shape[0], SKETCH_DIMENSIONS)
    norms = np.linalg.norm(sketches, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (sketches / norms).astype(np.float32)


# The same sketch of one `sparsevec` in SQL (its text form is "{index:value,...}/dimensions",
# indexes from 1). The migration that creates `prodsim_lexical_sketch` copies this text; a test
# holds the two equal.
SKETCH_SQL = f"""
SELECT l2_normalize(array_agg(coalesce(total, 0) ORDER BY slot)::vector)::halfvec
FROM generate_series(0, {SKETCH_DIMENSIONS - 1}) AS slot LEFT JOIN (
    SELECT hashed % {SKETCH_DIMENSIONS} AS hashed_slot,
           sum(CASE WHEN (hashed / {SKETCH_DIMENSIONS}) % 2 = 1 THEN value ELSE -value END) AS total
    FROM (
        SELECT ((split_part(pair, ':', 1)::bigint - 1) * {_MULTIPLIER} + {_OFFSET})
                   % {_PRIME} AS hashed,
               split_part(pair, ':', 2)::float8 AS value
        FROM unnest(string_to_array(
            btrim(split_part(query_vector::text, '/', 1), '{{}}'), ','
        )) AS pair
    ) AS entries
    GROUP BY 1
) AS sums ON sums.hashed_slot = slot
"""
