"""Hashed feature counts of many texts at once, one sparse matrix per feature family.

Three families are counted over normalised text: character 3–5-grams of the padded word
sequence (robust to typos, plurals and joined words; hashed in NumPy, `char_ngram_counts`),
whole words and model numbers (`text.model_numbers`, so "WH-1000XM4" meets "wh1000xm4"), the
last two by scikit-learn's HashingVectorizer (MurmurHash3, seed 0). Every hash is the same in
every process and on every machine. Each family's buckets are moved by
its own bijection of [0, DIMENSIONS), so "abc" the word and "abc" the n-gram do not share a
bucket by construction (only by chance, like any two features).
"""

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from .text import WORD_PATTERN, model_numbers

# Fixed by the `sparsevec(1048576)` column: changing it (or a family's hashing) moves every
# stored vector, so it must come with a lexical index rebuild.
DIMENSIONS = 2**20
NGRAM_SIZES = (3, 5)  # 2–5, 3–4, 4–5 and 3–6 measured within one query of 3–5 on Walmart–Amazon
FAMILIES = ("ngram", "word", "model", "code")
# (multiplier, offset) of each family's bijection; odd multipliers are invertible mod 2**20.
_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: odd, with well-spread bits
_SHUFFLE = {
    "ngram": (1, 0),
    "word": (0x9E3B, 0x2F1A7),
    "model": (0x5BD1, 0x71C3D),
    "code": (0x3C6F, 0x1B873),
}


def char_ngram_counts(texts: list[str]) -> sparse.csr_matrix:
    """Counts of the character 3–5-grams of " text " (each text padded by one space), hashed.

    NumPy over one byte buffer of all texts, not a Python loop per n-gram: a window is an
    n-gram when no text boundary falls inside it; its bucket is a multiply-xorshift hash of its
    bytes (uint64 arithmetic wraps identically on every machine). Texts must be normalised
    (ASCII).
    """
    padded = "\n".join(f" {text} " if text else "" for text in texts)
    data = np.frombuffer(padded.encode("utf-8"), np.uint8).astype(np.uint64)
    breaks = np.concatenate(([0], np.cumsum(data == ord("\n"))))
    rows, buckets = [], []
    key = data
    for size in range(2, NGRAM_SIZES[1] + 1):  # key of n-grams from the (n-1)-grams, by slices
        key = key[:-1] * _PRIME + data[size - 1 :]
        if size < NGRAM_SIZES[0]:
            continue
        starts = np.flatnonzero(breaks[size:] == breaks[: max(len(breaks) - size, 0)])
        rows.append(breaks[starts])
        buckets.append(_mix(key[starts] + np.uint64(size)))
    row, column = np.concatenate(rows), np.concatenate(buckets)
    ones = np.ones(len(row), np.float32)
    return sparse.csr_matrix((ones, (row, column)), shape=(len(texts), DIMENSIONS))


def _mix(key: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: every input bit moves every output bit, so buckets spread evenly.
    key = (key ^ (key >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    key = (key ^ (key >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((key ^ (key >> np.uint64(31))) % np.uint64(DIMENSIONS)).astype(np.int64)


def _vectoriser(family: str, variants: bool) -> HashingVectorizer:
    common = {
        "n_features": DIMENSIONS,
        "alternate_sign": False,
        "norm": None,
        "dtype": np.float32,
        "lowercase": False,  # the text arrives normalised
    }
    if family == "word":
        return HashingVectorizer(analyzer="word", token_pattern=WORD_PATTERN, **common)
    return HashingVectorizer(analyzer=lambda text: model_numbers(text, variants), **common)


def family_counts(texts: list[str], family: str, *, variants: bool = True) -> sparse.csr_matrix:
    """float32 CSR (len(texts), DIMENSIONS) of raw feature counts of one family.

    `texts` must be normalised (`text.normalise_many`); an empty text gives an empty row.
    Each distinct text is counted once: brands, categories and empty fields repeat a lot.
    """
    if family == "ngram":
        return char_ngram_counts(texts)
    if family == "code":
        codes = [" ".join(model_numbers(text, False)) for text in texts]
        return _moved(char_ngram_counts(codes), family)
    positions: dict[str, int] = {}
    rows = np.fromiter(
        (positions.setdefault(t, len(positions)) for t in texts), np.int64, len(texts)
    )
    matrix = _vectoriser(family, variants).transform(list(positions))
    if len(positions) < len(texts):
        matrix = matrix[rows]
    return _moved(matrix, family)


def _moved(matrix: sparse.csr_matrix, family: str) -> sparse.csr_matrix:
    multiplier, offset = _SHUFFLE[family]
    if multiplier != 1 or offset:
        indices = matrix.indices.astype(np.int64) * multiplier + offset
        matrix.indices = (indices % DIMENSIONS).astype(matrix.indices.dtype)
        matrix.has_sorted_indices = False
    return matrix
