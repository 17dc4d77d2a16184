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

from .config import LexicalConfig
from .hashing import FAMILIES, family_counts
from .idf import IdfTable, fit_idf
from .text import normalise_many
from .weighting import FIELDS, combine, normalise_rows

# Char n-grams of prose cost the most to count and mostly repeat its words; codes and words
# carry a description's evidence.
FIELD_FAMILIES = {
    "title": FAMILIES,
    "brand": ("ngram", "word"),
    "model": ("ngram", "model", "code"),
    "category": ("ngram", "word"),
    "description": ("word", "model", "code"),
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


COUNT_BATCH = 20_000  # products counted at a time: bounds the temporary arrays of one pass


def catalogue_counts(columns: Columns, config: LexicalConfig, *, batch: int = COUNT_BATCH):
    """`field_counts` of every `batch` consecutive products: counted once, then used both to fit
    the IDF and to weigh the vectors (counting is most of a build's time)."""
    size = len(next(iter(columns.values()), []))
    return [
        field_counts(
            {name: texts[start : start + batch] for name, texts in columns.items()}, config
        )
        for start in range(0, size, batch)
    ]


def idf_of_batches(batches: list[dict]) -> IdfTable:
    """The catalogue's IDF from the `catalogue_counts` of all its batches."""
    total = IdfTable()
    for counts in batches:
        table = fit_catalogue_idf(counts)
        total.documents += table.documents
        total.frequencies += table.frequencies
    return total


def catalogue_idf(columns: Columns, config: LexicalConfig, *, batch: int = COUNT_BATCH):
    """The IDF of a whole catalogue, counted `batch` products at a time."""
    return idf_of_batches(catalogue_counts(columns, config, batch=batch))


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
        part = normalise_rows(part) * np.float32(config.family_weight(family))
        by_field[name] = part if name not in by_field else by_field[name] + part
    return {name: normalise_rows(matrix.tocsr()) for name, matrix in by_field.items()}


def vectorise_columns(
    columns: Columns, idf: IdfTable, config: LexicalConfig, *, catalogue: bool = False
) -> sparse.csr_matrix:
    """The lexical vectors of many products (or queries): see `combine` for the shape."""
    counts = field_counts(columns, config)
    return combine(field_vectors(counts, idf, config), config.fields, catalogue=catalogue)


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
