"""Exact brute-force nearest neighbours: the ranking every metric is computed on."""

import numpy as np

from .inputs import check_options, checked_pair

CUTOFF = 10  # every metric is reported at or below rank 10
# At most this many queries are ranked at once, and fewer where the gallery is large (see below).
DEFAULT_BATCH_SIZE = 1024
# A batch holds b x g float64 scores plus a partition copy and boolean masks: about 20 bytes a pair.
BYTES_PER_PAIR = 20
# What one batch may hold. 400 MiB keeps full DEFAULT_BATCH_SIZE batches up to a 20,480-photo
# gallery (protocols.VAL_GALLERY_TOTAL is 20k), so rankings there are computed exactly as before;
# a 100k-photo gallery gets 209-query batches: ranking 2,048 queries there peaked at 0.70 GiB
# (0.4 of it the float64 vectors) instead of 2.2 GiB with 1024 (tracemalloc).
RANKING_BUDGET_BYTES = 400 * 2**20


def nearest_neighbours(
    query_vectors: np.ndarray,
    gallery_vectors: np.ndarray,
    *,
    k: int = CUTOFF,
    metric: str = "cosine",
    exclude_self: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """Exact brute-force top-k: int64 gallery indices of shape (q, min(k, rankable)), best first.

    Same metric, tie and exclude_self rules as retrieval_metrics; rankable is g, or g - 1 with
    exclude_self. Scores are computed at most batch_size queries at a time, fewer where that
    would pass RANKING_BUDGET_BYTES (`query_batch_size`), and no full sort is ever made. Also
    the reference to check an approximate (HNSW) index against.
    """
    queries, gallery = checked_pair(query_vectors, gallery_vectors, exclude_self=exclude_self)
    check_options(metric=metric, batch_size=batch_size, k=k)
    return nearest(
        queries, gallery, k=k, metric=metric, exclude_self=exclude_self, batch_size=batch_size
    )


def l2_normalise(vectors: np.ndarray, *, eps: float = 1e-12) -> np.ndarray:
    """Scale each vector along the last axis to unit L2 norm; shape and float dtype are kept.

    Vectors with norm below eps come back unchanged (all-zero stays all-zero) instead of as NaN.
    Integer input is returned as float64.
    """
    vectors = np.asarray(vectors)
    if not np.issubdtype(vectors.dtype, np.floating):
        vectors = vectors.astype(np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, eps).astype(vectors.dtype)


def nearest(
    queries: np.ndarray,
    gallery: np.ndarray,
    *,
    k: int,
    metric: str,
    exclude_self: bool,
    batch_size: int,
) -> np.ndarray:
    """nearest_neighbours on already validated float64 arrays."""
    batch_size = query_batch_size(len(gallery), batch_size)
    if metric == "cosine":
        queries, gallery = l2_normalise(queries), l2_normalise(gallery)
    k = min(k, len(gallery) - exclude_self)
    gallery_sq_norms = np.einsum("ij,ij->i", gallery, gallery)
    batches = []
    for start in range(0, len(queries), batch_size):
        scores = queries[start : start + batch_size] @ gallery.T
        if metric == "l2":
            # -||q - g||^2 without ||q||^2, which is the same for a whole row and cannot reorder it.
            scores *= 2
            scores -= gallery_sq_norms
        if exclude_self:
            rows = np.arange(len(scores))
            scores[rows, start + rows] = -np.inf
        batches.append(_top_k(scores, k))
    return np.concatenate(batches)


def query_batch_size(gallery_size: int, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """How many queries `nearest` ranks at once against gallery_size photos: batch_size, or
    fewer (at least 1) where batch_size rows of scores would pass RANKING_BUDGET_BYTES."""
    return max(1, min(batch_size, RANKING_BUDGET_BYTES // (BYTES_PER_PAIR * gallery_size)))


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(b, k) column indices of each row's k highest scores, best first, equal scores by index.

    A plain argpartition picks arbitrarily among scores tied with the k-th, so the cut is made
    explicitly: everything above the k-th score, then the lowest-index ties until k are taken.
    """
    width = scores.shape[1]
    # A copy of the column, not a view, so the partitioned copy of the scores is freed now.
    kth = np.partition(scores, width - k, axis=1)[:, width - k, None].copy()
    chosen = scores > kth
    tied = scores == kth
    room = k - chosen.sum(axis=1)
    crowded = tied.sum(axis=1) > room
    if crowded.any():  # only rows whose tie crosses the cut need the running count
        tied[crowded] &= np.cumsum(tied[crowded], axis=1) <= room[crowded, None]
    columns = np.nonzero(chosen | tied)[1].reshape(len(scores), k)  # ascending index per row
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)
