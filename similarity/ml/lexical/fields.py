"""Field-aware lexical vectors: each field of a product (or query) weighted on its own.

A product is five text fields. Each field's features (per family: see `hashing`) are TF-IDF
weighted, each family normalised and scaled by its family weight, then the field's vector is
normalised and scaled by the field's weight, and the sum over fields is normalised. So a long
description adds at most its weight's share of evidence and never drowns the title; the shared
feature space still lets a query's title meet a product's description ("FS105" in either).

A query sends any subset of fields: the fields it lacks add nothing, and since every catalogue
product is scored against the same query vector, a missing field lowers no product's rank.
"""

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from .config import FieldWeights, LexicalConfig
from .hashing import DIMENSIONS, FAMILIES, family_counts
from .idf import IdfTable, fit_idf
from .text import normalise_many

MAX_NONZERO = 1000  # pgvector's HNSW index on sparsevec accepts at most 1,000 non-zeros
FIELDS = ("title", "brand", "model", "category", "description")
# Char n-grams of prose cost the most to count and mostly repeat its words; codes and words
# carry a description's evidence.
FIELD_FAMILIES = {
    "title": FAMILIES,
    "brand": ("ngram", "word"),
    "model": ("ngram", "model"),
    "category": ("ngram", "word"),
    "description": ("word", "model"),
}
DESCRIPTION_CHARS = 600  # the opening names the product and its codes; the rest is prose


Columns = dict[str, list[str]]  # field -> one text per product; absent fields are empty


def field_counts(
    columns: Columns, config: LexicalConfig
) -> dict[tuple[str, str], sparse.csr_matrix]:
    """Raw hashed counts per (field, family) of the fields present in `columns`."""
    counts = {}
    for name in FIELDS:
        texts = columns.get(name)
        if texts is None:
            continue
        if name == "description":
            texts = [text[:DESCRIPTION_CHARS] for text in texts]
        normalised = normalise_many(list(texts))
        for family in FIELD_FAMILIES[name]:
            counts[name, family] = family_counts(
                normalised, family, variants=config.model_number_variants
            )
    return counts


def fit_catalogue_idf(counts: dict[tuple[str, str], sparse.csr_matrix]) -> IdfTable:
    """The IDF of a catalogue's `field_counts` (a bucket counts once per product)."""
    return fit_idf(list(counts.values()))


def catalogue_idf(columns: Columns, config: LexicalConfig, *, batch: int = 20_000) -> IdfTable:
    """`fit_catalogue_idf` counted `batch` products at a time, so memory stays bounded."""
    total = IdfTable()
    size = len(next(iter(columns.values()), []))
    for start in range(0, size, batch):
        part = {name: texts[start : start + batch] for name, texts in columns.items()}
        table = fit_catalogue_idf(field_counts(part, config))
        total.documents += table.documents
        total.frequencies += table.frequencies
    return total


def field_vectors(counts, idf: IdfTable, config: LexicalConfig) -> dict[str, sparse.csr_matrix]:
    """Per field, the L2-normalised mix of its TF-IDF families (empty rows stay empty)."""
    weights = idf.weights()
    by_field: dict[str, sparse.csr_matrix] = {}
    for (name, family), matrix in counts.items():
        if not config.family_weight(family):
            continue
        part = matrix.astype(np.float32, copy=True)
        part.sum_duplicates()
        if config.sublinear_tf:
            np.log(part.data, out=part.data)
            part.data += 1.0
        part.data *= weights[part.indices]
        part = normalize(part, copy=False) * np.float32(config.family_weight(family))
        by_field[name] = part if name not in by_field else by_field[name] + part
    return {name: normalize(matrix.tocsr(), copy=False) for name, matrix in by_field.items()}


def combine(vectors: dict[str, sparse.csr_matrix], weights: FieldWeights) -> sparse.csr_matrix:
    """float32 CSR (rows, DIMENSIONS): the weighted sum of field vectors, at most MAX_NONZERO
    non-zeros per row (the largest kept), L2-normalised; a row with no features stays empty."""
    total = None
    for name, matrix in vectors.items():
        weight = getattr(weights, name)
        if weight:
            total = matrix * np.float32(weight) if total is None else total + matrix * weight
    if total is None:
        rows = next(iter(vectors.values())).shape[0] if vectors else 0
        return sparse.csr_matrix((rows, DIMENSIONS), dtype=np.float32)
    total = _cap_nonzeros(total.tocsr().astype(np.float32))
    return normalize(total, copy=False)


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


def vectorise_columns(columns: Columns, idf: IdfTable, config: LexicalConfig) -> sparse.csr_matrix:
    """The lexical vectors of many products (or queries): see `combine` for the shape."""
    counts = field_counts(columns, config)
    return combine(field_vectors(counts, idf, config), config.fields)


def vectorise_record(
    record: dict[str, str], idf: IdfTable, config: LexicalConfig
) -> dict[int, float]:
    """One product's or query's vector as {index: value}; fields missing or blank add nothing."""
    columns = {name: [record[name]] for name in FIELDS if (record.get(name) or "").strip()}
    if not columns:
        return {}
    row = vectorise_columns(columns, idf, config)
    return dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))


def rows_as_dicts(matrix: sparse.csr_matrix) -> list[dict[int, float]]:
    """Each row of a CSR matrix as {index: value} (for storage as pgvector sparsevec)."""
    indptr, indices, data = matrix.indptr, matrix.indices.tolist(), matrix.data.tolist()
    return [
        dict(zip(indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]], strict=True))
        for i in range(matrix.shape[0])
    ]
