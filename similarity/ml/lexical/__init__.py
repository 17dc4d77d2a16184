"""Lexical text vectors: field-aware hashed TF-IDF, tuned per catalogue without labels.

Plain Python + NumPy/SciPy/scikit-learn (no TensorFlow, no Django): the web process encodes
queries with it. `fields` builds the vectors, `idf` holds document frequencies and the refit
rule, `tuning` fits the field weights of one catalogue from pseudo-queries. Vectors are
L2-normalised, so the cosine of two is their dot product; PostgreSQL stores them as
`sparsevec` and ranks them with `<=>`.
"""

from .config import FieldWeights, LexicalConfig, TuningResult
from .fields import (
    COUNT_BATCH,
    Columns,
    catalogue_counts,
    catalogue_idf,
    field_counts,
    field_vectors,
    fit_catalogue_idf,
    idf_of_batches,
    rows_as_dicts,
    vectorise_columns,
    vectorise_record,
)
from .hashing import DIMENSIONS
from .idf import IDF_DRIFT_SHARE, IdfTable, idf_needs_refit
from .text import WORD_RE, model_numbers, normalise, normalise_many
from .weighting import FIELDS, MAX_NONZERO, combine

__all__ = [
    "COUNT_BATCH",
    "DIMENSIONS",
    "FIELDS",
    "IDF_DRIFT_SHARE",
    "MAX_NONZERO",
    "WORD_RE",
    "Columns",
    "catalogue_counts",
    "catalogue_idf",
    "FieldWeights",
    "IdfTable",
    "LexicalConfig",
    "TuningResult",
    "combine",
    "field_counts",
    "field_vectors",
    "fit_catalogue_idf",
    "idf_of_batches",
    "idf_needs_refit",
    "model_numbers",
    "normalise",
    "normalise_many",
    "rows_as_dicts",
    "vectorise_columns",
    "vectorise_record",
]
