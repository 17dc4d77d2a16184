"""Hashed feature counts of many texts at once, one sparse matrix per feature family.

scikit-learn's HashingVectorizer (MurmurHash3, seed 0: the same bucket in every process and on
every machine) counts three families over normalised text: character 3–5-grams of the padded
word sequence (robust to typos, plurals and joined words), whole words, and model numbers
(`text.model_numbers`, so "WH-1000XM4" meets "wh1000xm4"). Each family's buckets are moved by
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
FAMILIES = ("ngram", "word", "model")
# (multiplier, offset) of each family's bijection; odd multipliers are invertible mod 2**20.
_SHUFFLE = {"ngram": (1, 0), "word": (0x9E3B, 0x2F1A7), "model": (0x5BD1, 0x71C3D)}


def _pad(text: str) -> str:
    return f" {text} " if text else ""


def _vectoriser(family: str, variants: bool) -> HashingVectorizer:
    common = {
        "n_features": DIMENSIONS,
        "alternate_sign": False,
        "norm": None,
        "dtype": np.float32,
        "lowercase": False,  # the text arrives normalised
    }
    if family == "ngram":
        return HashingVectorizer(
            analyzer="char", ngram_range=NGRAM_SIZES, preprocessor=_pad, **common
        )
    if family == "word":
        return HashingVectorizer(analyzer="word", token_pattern=WORD_PATTERN, **common)
    return HashingVectorizer(analyzer=lambda text: model_numbers(text, variants), **common)


def family_counts(texts: list[str], family: str, *, variants: bool = True) -> sparse.csr_matrix:
    """float32 CSR (len(texts), DIMENSIONS) of raw feature counts of one family.

    `texts` must be normalised (`text.normalise_many`); an empty text gives an empty row.
    """
    matrix = _vectoriser(family, variants).transform(texts)
    multiplier, offset = _SHUFFLE[family]
    if multiplier != 1 or offset:
        indices = matrix.indices.astype(np.int64) * multiplier + offset
        matrix.indices = (indices % DIMENSIONS).astype(matrix.indices.dtype)
        matrix.has_sorted_indices = False
    return matrix
