"""Offline retrieval evaluation and the colour-histogram baseline.

Plain NumPy: no Django, no TensorFlow. Relevance is by label: a gallery item is relevant to a
query iff their labels are equal (the benchmark's "same category" protocol).
"""

from .histograms import ERR_BINS, ERR_IMAGE_SHAPE, colour_histogram, colour_histograms
from .inputs import (
    ERR_BATCH_SIZE,
    ERR_DIM_MISMATCH,
    ERR_EMPTY,
    ERR_EXCLUDE_SELF,
    ERR_K,
    ERR_LABELS_LENGTH,
    ERR_METRIC,
    ERR_NOT_2D,
    ERR_NOT_FINITE,
    ERR_NOT_FLOAT,
    ERR_NOTHING_TO_RANK,
    METRICS,
)
from .metrics import ERR_NO_RELEVANT, RetrievalMetrics, answerable_queries, retrieval_metrics
from .neighbours import CUTOFF, DEFAULT_BATCH_SIZE, l2_normalise, nearest_neighbours

__all__ = [
    "CUTOFF",
    "DEFAULT_BATCH_SIZE",
    "ERR_BATCH_SIZE",
    "ERR_BINS",
    "ERR_DIM_MISMATCH",
    "ERR_EMPTY",
    "ERR_EXCLUDE_SELF",
    "ERR_IMAGE_SHAPE",
    "ERR_K",
    "ERR_LABELS_LENGTH",
    "ERR_METRIC",
    "ERR_NOTHING_TO_RANK",
    "ERR_NOT_2D",
    "ERR_NOT_FINITE",
    "ERR_NOT_FLOAT",
    "ERR_NO_RELEVANT",
    "METRICS",
    "RetrievalMetrics",
    "answerable_queries",
    "colour_histogram",
    "colour_histograms",
    "l2_normalise",
    "nearest_neighbours",
    "retrieval_metrics",
]
