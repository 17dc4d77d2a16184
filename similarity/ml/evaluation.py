"""Offline retrieval evaluation, the colour-histogram baseline and embedding sanity checks.

Plain NumPy: no Django, no TensorFlow. Relevance is by label: a gallery item is relevant to a
query iff their labels are equal (the benchmark's "same category" protocol).
"""

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

METRICS = ("cosine", "l2", "ip")
CUTOFF = 10  # every metric is reported at or below rank 10
# One batch holds batch_size x gallery float64 scores plus a partition copy and boolean masks, about
# 20 bytes a pair: 1024 x 20k = 400 MB at most, and large enough that the matrix products dominate.
DEFAULT_BATCH_SIZE = 1024
MIN_EMBEDDING_NORM = 1e-6  # below this a vector has no usable direction for cosine search

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
ERR_NO_RELEVANT = "no query has a relevant gallery item, so the metrics are undefined"
ERR_IMAGE_SHAPE = "images must be uint8 of shape {expected}; got {dtype} of shape {shape}"
ERR_BINS = "bins must be an integer from 1 to 256; got {bins!r}"
ERR_EMBEDDINGS_SHAPE = "embeddings must have shape (n, {dim}); got shape {shape}"
ERR_EMBEDDINGS_DTYPE = "embeddings must have a floating-point dtype; got {dtype}"
ERR_EMBEDDING_NAN = "embedding row {row} contains NaN"
ERR_EMBEDDING_INF = "embedding row {row} contains an infinite value"
ERR_EMBEDDING_ZERO = "embedding row {row} has norm {norm:.3g}, below 1e-06: it has no direction"


@dataclass(frozen=True)
class RetrievalMetrics:
    """Label-based retrieval quality, each a mean over the queries that have a relevant item."""

    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    precision_at_10: float
    map_at_10: float
    ndcg_at_10: float
    queries: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain, JSON-serialisable values keyed by field name (for ModelVersion.metrics)."""
        return asdict(self)


def retrieval_metrics(
    query_vectors: np.ndarray,
    query_labels: Sequence[Hashable],
    gallery_vectors: np.ndarray,
    gallery_labels: Sequence[Hashable],
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RetrievalMetrics:
    """Rank the gallery for every query and score the top 10 against the labels.

    query_vectors (q, d) and gallery_vectors (g, d): finite floats. metric: "cosine" (vectors
    are normalised here), "l2" (smaller distance ranks higher) or "ip" (inner product). Equal
    scores rank by ascending gallery index. exclude_self=True (leave-one-out: query i is
    gallery row i) drops row i from query i's ranking and from its relevant count R.

    Recall@K is the hit rate: the share of queries with a relevant item in the top K.
    Precision@10 divides by 10 even when the gallery is smaller. AP@10 = sum_{k<=10} P@k * rel_k
    / min(10, R); NDCG@10 uses binary gains, DCG = sum rel_k / log2(k + 1). Queries with R = 0
    are left out of every mean and of `queries`. Raises ValueError for invalid input, or when no
    query has R > 0.
    """
    queries, gallery = _checked_pair(query_vectors, gallery_vectors, exclude_self=exclude_self)
    _check_options(metric=metric, batch_size=batch_size, k=CUTOFF)
    _check_labels("query_labels", query_labels, queries)
    _check_labels("gallery_labels", gallery_labels, gallery)
    neighbours = _nearest(
        queries, gallery, k=CUTOFF, metric=metric, exclude_self=exclude_self, batch_size=batch_size
    )
    query_codes, gallery_codes = _label_codes(query_labels, gallery_labels)
    relevant_counts = np.bincount(gallery_codes, minlength=query_codes.max() + 1)[query_codes]
    if exclude_self:
        relevant_counts -= gallery_codes[: len(query_codes)] == query_codes
    relevance = np.zeros((len(query_codes), CUTOFF), dtype=bool)
    relevance[:, : neighbours.shape[1]] = gallery_codes[neighbours] == query_codes[:, None]
    answerable = relevant_counts > 0
    if not answerable.any():
        raise ValueError(ERR_NO_RELEVANT)
    return _metrics_from_relevance(relevance[answerable], relevant_counts[answerable])


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
    exclude_self. Scores are computed batch_size queries at a time, so memory stays at about
    20 * batch_size * g bytes, and no full sort is ever made. Also the reference to check an
    approximate (HNSW) index against.
    """
    queries, gallery = _checked_pair(query_vectors, gallery_vectors, exclude_self=exclude_self)
    _check_options(metric=metric, batch_size=batch_size, k=k)
    return _nearest(
        queries, gallery, k=k, metric=metric, exclude_self=exclude_self, batch_size=batch_size
    )


def colour_histograms(images: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """Joint RGB colour histograms, the hand-crafted baseline the learned embeddings must beat.

    images: (n, H, W, 3) uint8 RGB. Each channel is cut into `bins` equal ranges, so a pixel
    falls in one of bins**3 cells. Returns (n, bins**3) float32, each row L2-normalised, so
    cosine similarity is a plain dot product.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(_image_error(images, "(n, H, W, 3)"))
    if not _is_positive_int(bins) or bins > 256:
        raise ValueError(ERR_BINS.format(bins=bins))
    cells = bins**3
    quantised = (images.astype(np.int64) * bins) >> 8  # 0 .. bins-1, equal-width ranges
    codes = (quantised[..., 0] * bins + quantised[..., 1]) * bins + quantised[..., 2]
    # One bincount for the whole batch: offset each image's codes into its own block of cells.
    codes = codes.reshape(len(images), -1) + np.arange(len(images))[:, None] * cells
    counts = np.bincount(codes.ravel(), minlength=len(images) * cells)
    return l2_normalise(counts.reshape(len(images), cells).astype(np.float32))


def colour_histogram(image: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """One (H, W, 3) uint8 RGB image -> (bins**3,) float32 L2-normalised joint colour histogram."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(_image_error(image, "(H, W, 3)"))
    return colour_histograms(image[None], bins=bins)[0]


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


def _nearest(
    queries: np.ndarray,
    gallery: np.ndarray,
    *,
    k: int,
    metric: str,
    exclude_self: bool,
    batch_size: int,
) -> np.ndarray:
    """nearest_neighbours on already validated float64 arrays."""
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


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(b, k) column indices of each row's k highest scores, best first, equal scores by index.

    A plain argpartition picks arbitrarily among scores tied with the k-th, so the cut is made
    explicitly: everything above the k-th score, then the lowest-index ties until k are taken.
    """
    width = scores.shape[1]
    kth = np.partition(scores, width - k, axis=1)[:, width - k, None]
    chosen = scores > kth
    tied = scores == kth
    room = k - chosen.sum(axis=1)
    crowded = tied.sum(axis=1) > room
    if crowded.any():  # only rows whose tie crosses the cut need the running count
        tied[crowded] &= np.cumsum(tied[crowded], axis=1) <= room[crowded, None]
    columns = np.nonzero(chosen | tied)[1].reshape(len(scores), k)  # ascending index per row
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def _metrics_from_relevance(relevance: np.ndarray, relevant_counts: np.ndarray) -> RetrievalMetrics:
    """relevance: (q, 10) bool, rank 1 first; relevant_counts: (q,) R per query, all > 0."""
    ranks = np.arange(1, CUTOFF + 1)
    found = np.cumsum(relevance, axis=1)  # relevant items within the top k, k = 1..10
    ideal = np.minimum(relevant_counts, CUTOFF)
    average_precision = (found / ranks * relevance).sum(axis=1) / ideal
    discounts = 1 / np.log2(ranks + 1)
    ndcg = (relevance * discounts).sum(axis=1) / np.cumsum(discounts)[ideal - 1]
    return RetrievalMetrics(
        recall_at_1=float(np.mean(found[:, 0] > 0)),
        recall_at_5=float(np.mean(found[:, 4] > 0)),
        recall_at_10=float(np.mean(found[:, 9] > 0)),
        precision_at_10=float(np.mean(found[:, 9] / CUTOFF)),
        map_at_10=float(np.mean(average_precision)),
        ndcg_at_10=float(np.mean(ndcg)),
        queries=len(relevance),
    )


def _checked_pair(
    query_vectors: np.ndarray, gallery_vectors: np.ndarray, *, exclude_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    queries = _checked_vectors("query_vectors", query_vectors)
    gallery = _checked_vectors("gallery_vectors", gallery_vectors)
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(ERR_DIM_MISMATCH.format(query=queries.shape[1], gallery=gallery.shape[1]))
    if exclude_self and len(queries) > len(gallery):
        raise ValueError(ERR_EXCLUDE_SELF.format(query=len(queries), gallery=len(gallery)))
    if exclude_self and len(gallery) == 1:
        raise ValueError(ERR_NOTHING_TO_RANK)
    return queries, gallery


def _checked_vectors(name: str, vectors: np.ndarray) -> np.ndarray:
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


def _check_options(*, metric: str, batch_size: int, k: int) -> None:
    if metric not in METRICS:
        raise ValueError(ERR_METRIC.format(metric=metric))
    if not _is_positive_int(batch_size):
        raise ValueError(ERR_BATCH_SIZE.format(batch_size=batch_size))
    if not _is_positive_int(k):
        raise ValueError(ERR_K.format(k=k))


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def _check_labels(name: str, labels: Sequence[Hashable], vectors: np.ndarray) -> None:
    if len(labels) != len(vectors):
        raise ValueError(
            ERR_LABELS_LENGTH.format(name=name, labels=len(labels), vectors=len(vectors))
        )


def _image_error(images: np.ndarray, expected: str) -> str:
    return ERR_IMAGE_SHAPE.format(expected=expected, dtype=images.dtype, shape=images.shape)


def _label_codes(
    query_labels: Sequence[Hashable], gallery_labels: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Both label lists as int64 codes, equal labels (by ==, as dict keys) sharing a code."""
    codes: dict[Hashable, int] = {}
    gallery = [codes.setdefault(label, len(codes)) for label in gallery_labels]
    queries = [codes.setdefault(label, len(codes)) for label in query_labels]
    return np.array(queries, dtype=np.int64), np.array(gallery, dtype=np.int64)
