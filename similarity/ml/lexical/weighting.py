"""Field vectors summed into one product (or query) vector under the field weights."""

import numpy as np
from scipy import sparse

from .config import FieldWeights
from .hashing import DIMENSIONS

MAX_NONZERO = 1000  # pgvector's HNSW index on sparsevec accepts at most 1,000 non-zeros
FIELDS = ("title", "brand", "model", "category", "description")


def normalise_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Scale each row of a CSR matrix to unit L2 norm in place (empty rows stay empty).

    scikit-learn's `normalize` does the same after validating its input, which costs more
    than the arithmetic for the one-row matrices of a query.
    """
    matrix.sum_duplicates()
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    squares = np.bincount(rows, weights=matrix.data.astype(np.float64) ** 2, minlength=len(lengths))
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    matrix.data /= norms[rows].astype(matrix.data.dtype)
    return matrix


def combine(
    vectors: dict[str, sparse.csr_matrix], weights: FieldWeights, *, catalogue: bool = False
) -> sparse.csr_matrix:
    """float32 CSR (rows, DIMENSIONS): the weighted sum of field vectors, at most MAX_NONZERO
    non-zeros per row (the largest kept), L2-normalised; a row with no features stays empty.

    With `catalogue`, a product lacking a field gets the field's weight on a bucket of its own
    (`_absent_fields`) that no query holds: every product's norm is then the same, so under
    cosine a product with fewer fields is not lifted above one with more for a query that
    sent only some fields (cosine divides by the product's norm).
    """
    rows = next(iter(vectors.values())).shape[0] if vectors else 0
    total = sparse.csr_matrix((rows, DIMENSIONS), dtype=np.float32)
    for name, matrix in vectors.items():
        if getattr(weights, name):
            total = total + matrix * np.float32(getattr(weights, name))
    total = _cap_nonzeros(total.tocsr().astype(np.float32))
    if catalogue and total.nnz:
        total = _cap_nonzeros(total + _absent_fields(vectors, weights, total))
    return normalise_rows(total)


def _absent_fields(vectors, weights: FieldWeights, total: sparse.csr_matrix) -> sparse.csr_matrix:
    """For each non-empty row and each weighted field it lacks, the field's weight at a bucket
    drawn from the row's own features (two products share it only if their features match)."""
    lengths = np.diff(total.indptr)
    filled = np.flatnonzero(lengths)
    seed = np.zeros(total.shape[0], np.int64)
    seed[filled] = np.add.reduceat(total.indices.astype(np.int64), total.indptr[filled])
    rows, columns, values = [], [], []
    for salt, name in enumerate(FIELDS, start=1):
        weight = getattr(weights, name)
        present = (
            np.diff(vectors[name].indptr) > 0 if name in vectors else np.zeros(len(seed), bool)
        )
        absent = np.flatnonzero((lengths > 0) & ~present)
        if not weight or not len(absent):
            continue
        rows.append(absent)
        columns.append((seed[absent] * 2654435761 + salt * 40503) % DIMENSIONS)
        values.append(np.full(len(absent), weight, np.float32))
    if not rows:
        return sparse.csr_matrix(total.shape, dtype=np.float32)
    data = (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns)))
    return sparse.csr_matrix(data, shape=total.shape, dtype=np.float32)


def _cap_nonzeros(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    matrix.sum_duplicates()
    long_rows = np.flatnonzero(np.diff(matrix.indptr) > MAX_NONZERO)
    if not len(long_rows):
        return matrix
    for row in long_rows:  # rare: only rows with very long text get here
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = matrix.data[start:end]
        smallest = np.argsort(-np.abs(values), kind="stable")[MAX_NONZERO:]
        values[smallest] = 0.0
    matrix.eliminate_zeros()
    return matrix
