"""Label-based retrieval quality: Recall@K, Precision@10, MAP@10 and NDCG@10.

Relevance is by label: a gallery item is relevant to a query iff their labels are equal (the
benchmark's "same category" protocol).
"""

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .inputs import check_labels, check_options, checked_pair
from .neighbours import CUTOFF, DEFAULT_BATCH_SIZE, nearest

ERR_NO_RELEVANT = "no query has a relevant gallery item, so the metrics are undefined"


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
    queries, gallery = checked_pair(query_vectors, gallery_vectors, exclude_self=exclude_self)
    check_options(metric=metric, batch_size=batch_size, k=CUTOFF)
    check_labels("query_labels", query_labels, queries)
    check_labels("gallery_labels", gallery_labels, gallery)
    neighbours = nearest(
        queries, gallery, k=CUTOFF, metric=metric, exclude_self=exclude_self, batch_size=batch_size
    )
    query_codes, gallery_codes = _label_codes(query_labels, gallery_labels)
    relevant_counts = _relevant_counts(query_codes, gallery_codes, exclude_self=exclude_self)
    relevance = np.zeros((len(query_codes), CUTOFF), dtype=bool)
    relevance[:, : neighbours.shape[1]] = gallery_codes[neighbours] == query_codes[:, None]
    answerable = relevant_counts > 0
    if not answerable.any():
        raise ValueError(ERR_NO_RELEVANT)
    return _metrics_from_relevance(relevance[answerable], relevant_counts[answerable])


def answerable_queries(
    query_labels: Sequence[Hashable],
    gallery_labels: Sequence[Hashable],
    *,
    exclude_self: bool = False,
) -> int:
    """How many queries have a relevant gallery item (R > 0), as `retrieval_metrics` counts
    them: 0 is the case it raises ERR_NO_RELEVANT for, so a caller can ask first. With
    exclude_self, query i is gallery row i and does not count as its own relevant item."""
    if not len(query_labels):
        return 0
    query_codes, gallery_codes = _label_codes(query_labels, gallery_labels)
    return int((_relevant_counts(query_codes, gallery_codes, exclude_self=exclude_self) > 0).sum())


def _relevant_counts(
    query_codes: np.ndarray, gallery_codes: np.ndarray, *, exclude_self: bool
) -> np.ndarray:
    """int64 (q,): each query's R, the gallery items of its label (itself left out)."""
    counts = np.bincount(gallery_codes, minlength=query_codes.max() + 1)[query_codes]
    if exclude_self:
        counts -= gallery_codes[: len(query_codes)] == query_codes
    return counts


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


def _label_codes(
    query_labels: Sequence[Hashable], gallery_labels: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Both label lists as int64 codes, equal labels (by ==, as dict keys) sharing a code."""
    codes: dict[Hashable, int] = {}
    gallery = [codes.setdefault(label, len(codes)) for label in gallery_labels]
    queries = [codes.setdefault(label, len(codes)) for label in query_labels]
    return np.array(queries, dtype=np.int64), np.array(gallery, dtype=np.int64)
