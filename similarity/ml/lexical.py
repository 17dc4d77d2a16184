"""Lexical text vectors: hashed TF-IDF over character n-grams, words and model numbers.

Plain Python + NumPy (no TensorFlow): the web process encodes search queries with it. Three
feature families share one hashed space, each in its own namespace and with its own weight:
character 3–5-grams (robust to typos, plurals and joined words), whole words, and "model
numbers" (tokens holding a digit, with separators removed, so "WH-1000XM4" meets "wh1000xm4").
Vectors are L2-normalised, so the cosine of two vectors is their dot product; PostgreSQL stores
them as `sparsevec` and ranks them with `<=>`.
"""

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

DIMENSIONS = 2**20  # hash space; collisions stay below 1 % for catalogue vocabularies
MAX_NONZERO = 1000  # pgvector's HNSW index on sparsevec accepts at most 1,000 non-zeros
NGRAM_SIZES = (3, 4, 5)
WORD_RE = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
SEPARATORS_RE = re.compile(r"[-/.]")


@dataclass(frozen=True)
class LexicalConfig:
    """Weights of the feature families (squared weights are their share of the cosine)."""

    ngram_weight: float = 1.0
    word_weight: float = 0.6
    model_number_weight: float = 1.0
    sublinear_tf: bool = True


@dataclass
class IdfTable:
    """Document frequencies of hashed features over a catalogue; idf = ln((1+N)/(1+df)) + 1."""

    documents: int = 0
    frequencies: dict[int, int] = field(default_factory=dict)

    def idf(self, index: int) -> float:
        return math.log((1 + self.documents) / (1 + self.frequencies.get(index, 0))) + 1.0

    def as_json(self) -> dict:
        return {
            "documents": self.documents,
            "frequencies": {str(k): v for k, v in self.frequencies.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> "IdfTable":
        return cls(data["documents"], {int(k): v for k, v in data["frequencies"].items()})


def normalise(text: str) -> str:
    """Lower case, accents folded, everything but letters, digits and - / . turned to spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9\-/. ]+", " ", text.lower()).strip()


def _bucket(namespace: str, feature: str) -> int:
    digest = hashlib.blake2b(f"{namespace}:{feature}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % DIMENSIONS


def _family_features(text: str) -> dict[str, Counter]:
    clean = normalise(text)
    words = WORD_RE.findall(clean)
    padded = f" {' '.join(words)} "
    ngrams = Counter(padded[i : i + n] for n in NGRAM_SIZES for i in range(len(padded) - n + 1))
    model_numbers = Counter(
        SEPARATORS_RE.sub("", word)
        for word in words
        if any(ch.isdigit() for ch in word) and len(word) >= 3
    )
    return {"ngram": ngrams, "word": Counter(words), "model": model_numbers}


def hashed_counts(text: str) -> dict[str, Counter]:
    """Feature counts per family, keyed by hash bucket."""
    result = {}
    for family, counts in _family_features(text).items():
        hashed: Counter = Counter()
        for feature, count in counts.items():
            hashed[_bucket(family, feature)] += count
        result[family] = hashed
    return result


def fit_idf(texts: Iterable[str]) -> IdfTable:
    """Count in how many texts each hashed feature occurs."""
    table = IdfTable()
    frequencies: Counter = Counter()
    for text in texts:
        table.documents += 1
        buckets = set()
        for counts in hashed_counts(text).values():
            buckets.update(counts)
        frequencies.update(buckets)
    table.frequencies = dict(frequencies)
    return table


def vectorise(
    text: str, idf: IdfTable, config: LexicalConfig = LexicalConfig()
) -> dict[int, float]:
    """The sparse L2-normalised TF-IDF vector of `text` as {index: value} (≤ MAX_NONZERO)."""
    weights = {
        "ngram": config.ngram_weight,
        "word": config.word_weight,
        "model": config.model_number_weight,
    }
    vector: dict[int, float] = {}
    for family, counts in hashed_counts(text).items():
        part = {
            index: (1 + math.log(count) if config.sublinear_tf else count) * idf.idf(index)
            for index, count in counts.items()
        }
        norm = math.sqrt(sum(value * value for value in part.values()))
        if not norm or not weights[family]:
            continue
        for index, value in part.items():
            vector[index] = vector.get(index, 0.0) + weights[family] * value / norm
    if len(vector) > MAX_NONZERO:  # keep the most informative features
        vector = dict(sorted(vector.items(), key=lambda item: -abs(item[1]))[:MAX_NONZERO])
    norm = math.sqrt(sum(value * value for value in vector.values()))
    return {index: value / norm for index, value in vector.items()} if norm else {}


def cosine(a: dict[int, float], b: dict[int, float]) -> float:
    """Dot product of two normalised sparse vectors (a reference for tests and benchmarks)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(index, 0.0) for index, value in a.items())
