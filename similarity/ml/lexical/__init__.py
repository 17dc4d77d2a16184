"""Lexical text vectors: field-aware hashed TF-IDF, tuned per catalogue without labels.

Plain Python + NumPy/SciPy/scikit-learn (no TensorFlow, no Django): the web process encodes
queries with it. `fields` builds the vectors, `idf` holds document frequencies and the refit
rule, `tuning` fits the field weights of one catalogue from pseudo-queries. Vectors are
L2-normalised, so the cosine of two is their dot product; PostgreSQL stores them as
`sparsevec` and ranks them with `<=>`.
"""

from .config import FieldWeights, LexicalConfig
from .fields import (
    FIELDS,
    MAX_NONZERO,
    Columns,
    catalogue_idf,
    combine,
    field_counts,
    field_vectors,
    fit_catalogue_idf,
    rows_as_dicts,
    vectorise_columns,
    vectorise_record,
)
from .hashing import DIMENSIONS
from .idf import IDF_DRIFT_SHARE, IdfTable, idf_needs_refit
from .text import WORD_RE, model_numbers, normalise, normalise_many

__all__ = [
    "DIMENSIONS",
    "FIELDS",
    "IDF_DRIFT_SHARE",
    "MAX_NONZERO",
    "WORD_RE",
    "Columns",
    "catalogue_idf",
    "FieldWeights",
    "IdfTable",
    "LexicalConfig",
    "combine",
    "field_counts",
    "field_vectors",
    "fit_catalogue_idf",
    "idf_needs_refit",
    "model_numbers",
    "normalise",
    "normalise_many",
    "rows_as_dicts",
    "vectorise_columns",
    "vectorise_record",
]
