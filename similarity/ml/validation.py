"""The last check on embeddings before they are stored or searched with.

Plain NumPy: no Django, no TensorFlow. Whatever computed the vectors (a model, a hostile upload),
a bad row must fail here with a message naming it, never reach the vector columns.
"""

import numpy as np

MIN_EMBEDDING_NORM = 1e-6  # below this a vector has no usable direction for cosine search

ERR_EMBEDDINGS_SHAPE = "embeddings must have shape (n, {dim}); got shape {shape}"
ERR_EMBEDDINGS_DTYPE = "embeddings must have a floating-point dtype; got {dtype}"
ERR_EMBEDDING_NAN = "embedding row {row} contains NaN"
ERR_EMBEDDING_INF = "embedding row {row} contains an infinite value"
ERR_EMBEDDING_ZERO = "embedding row {row} has norm {norm:.3g}, below 1e-06: it has no direction"


class InvalidEmbeddings(ValueError):
    """Embeddings that must not reach the database; the message names the first bad row."""


def validate_embeddings(vectors: np.ndarray, *, dim: int) -> None:
    """Raise InvalidEmbeddings unless vectors is a float (n, dim) array of finite, non-zero rows.

    A row is zero when its L2 norm is below 1e-6: it has no direction, so cosine search would
    divide by (nearly) zero. An empty (0, dim) batch is valid.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InvalidEmbeddings(ERR_EMBEDDINGS_SHAPE.format(dim=dim, shape=vectors.shape))
    if not np.issubdtype(vectors.dtype, np.floating):
        raise InvalidEmbeddings(ERR_EMBEDDINGS_DTYPE.format(dtype=vectors.dtype))
    has_nan = np.isnan(vectors).any(axis=1)
    has_inf = np.isinf(vectors).any(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN rows are reported below
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    bad = has_nan | has_inf | (norms < MIN_EMBEDDING_NORM)
    if not bad.any():
        return
    row = int(np.argmax(bad))
    if has_nan[row]:
        raise InvalidEmbeddings(ERR_EMBEDDING_NAN.format(row=row))
    if has_inf[row]:
        raise InvalidEmbeddings(ERR_EMBEDDING_INF.format(row=row))
    raise InvalidEmbeddings(ERR_EMBEDDING_ZERO.format(row=row, norm=norms[row]))
