"""Argument checks shared by the retrieval functions, and the messages tests assert."""

from collections.abc import Hashable, Sequence

import numpy as np

METRICS = ("cosine", "l2", "ip")

ERR_NOT_2D = "{name} must be a 2-D array of shape (n, dim); got shape {shape}"
ERR_NOT_FLOAT = "{name} must have a floating-point dtype; got {dtype}"
ERR_EMPTY = "{name} must contain at least one vector"
ERR_NOT_FINITE = "{name} row {row} contains NaN or infinite values"
ERR_DIM_MISMATCH = "query vectors have {query} dimensions but gallery vectors have {gallery}"
ERR_LABELS_LENGTH = "{name} has {labels} labels for {vectors} vectors"
ERR_METRIC = "metric must be one of 'cosine', 'l2', 'ip'; got {metric!r}"
ERR_BATCH_SIZE = "batch_size must be a positive integer; got {batch_size!r}"
ERR_K = "k must be a positive integer; got {k!r}"
ERR_EXCLUDE_SELF = (
    "exclude_self needs the queries to be the first rows of the gallery; "
    "got {query} queries and {gallery} gallery vectors"
)
ERR_NOTHING_TO_RANK = "exclude_self leaves no gallery items to rank"


def checked_pair(
    query_vectors: np.ndarray, gallery_vectors: np.ndarray, *, exclude_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    queries = checked_vectors("query_vectors", query_vectors)
    gallery = checked_vectors("gallery_vectors", gallery_vectors)
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(ERR_DIM_MISMATCH.format(query=queries.shape[1], gallery=gallery.shape[1]))
    if exclude_self and len(queries) > len(gallery):
        raise ValueError(ERR_EXCLUDE_SELF.format(query=len(queries), gallery=len(gallery)))
    if exclude_self and len(gallery) == 1:
        raise ValueError(ERR_NOTHING_TO_RANK)
    return queries, gallery


def checked_vectors(name: str, vectors: np.ndarray) -> np.ndarray:
    """The vectors as float64 (exact ties, no float32 cancellation in l2), or ValueError."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(ERR_NOT_2D.format(name=name, shape=vectors.shape))
    if not np.issubdtype(vectors.dtype, np.floating):
        raise ValueError(ERR_NOT_FLOAT.format(name=name, dtype=vectors.dtype))
    if vectors.size == 0:
        raise ValueError(ERR_EMPTY.format(name=name))
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        raise ValueError(ERR_NOT_FINITE.format(name=name, row=int(np.argmin(finite))))
    return vectors.astype(np.float64)


def check_options(*, metric: str, batch_size: int, k: int) -> None:
    if metric not in METRICS:
        raise ValueError(ERR_METRIC.format(metric=metric))
    if not is_positive_int(batch_size):
        raise ValueError(ERR_BATCH_SIZE.format(batch_size=batch_size))
    if not is_positive_int(k):
        raise ValueError(ERR_K.format(k=k))


def is_positive_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def check_labels(name: str, labels: Sequence[Hashable], vectors: np.ndarray) -> None:
    if len(labels) != len(vectors):
        raise ValueError(
            ERR_LABELS_LENGTH.format(name=name, labels=len(labels), vectors=len(vectors))
        )
