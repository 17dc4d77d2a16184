"""Lexical text vectors: hashed TF-IDF over character n-grams, words and model numbers.

Plain Python + NumPy (no TensorFlow): the web process encodes search queries with it. Three
feature families share one hashed space, each in its own namespace and with its own weight:
character 3–5-grams (robust to typos, plurals and joined words), whole words, and "model
numbers" (tokens holding a digit, with separators removed, so "WH-1000XM4" meets "wh1000xm4").
Vectors are L2-normalised, so the cosine of two vectors is their dot product; PostgreSQL stores
them as `sparsevec` and ranks them with `<=>`.

The defaults were tuned on half of the Walmart–Amazon matching benchmark and checked on the
other half; `bench/text_matching.py` measures them against a character n-gram TF-IDF baseline.
"""

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# Fixed by the `sparsevec(1048576)` column. Measured on a 22k-product catalogue (470k distinct
# features, 86 % of them n-grams): 36 % of features share a bucket, which cost about one
# Walmart–Amazon query in 200 at Recall@1 against the same features with an exact vocabulary.
DIMENSIONS = 2**20
MAX_NONZERO = 1000  # pgvector's HNSW index on sparsevec accepts at most 1,000 non-zeros
NGRAM_SIZES = (3, 4, 5)  # 2–5, 3–4, 4–5 and 3–6 measured within one query of 3–5 on the dev half
MODEL_MIN_CHARS = 3  # "4k", "3d", "2x" are specs, not model numbers
WORD_RE = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
SEPARATORS_RE = re.compile(r"[-/.]")
MARKS = str.maketrans({"™": " ", "℠": " "})  # NFKD would spell them out: "Sony™" -> "sonytm"
SUFFIX_RE = re.compile(r"(.*\d)[a-z]+")  # "ea650green" -> "ea650": a colour or pack suffix


@dataclass(frozen=True)
class LexicalConfig:
    """Weights of the feature families (squared weights are their share of the cosine).

    Tuned on the dev half of Walmart–Amazon (docs/BENCHMARKS.md, "text-matching"): model
    numbers at 1.0 drowned the other families whenever a shop wrote a different code; every
    weight between 0.5 and 0.7 scored within one dev query of 0.6.
    """

    ngram_weight: float = 1.0
    word_weight: float = 0.6
    model_number_weight: float = 0.6
    model_number_variants: bool = True  # also index a code's parts and its suffix-less stem
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
    """Lower case, accents folded, runs of anything but letters, digits, - / . made one space."""
    text = unicodedata.normalize("NFKD", text.translate(MARKS)).encode("ascii", "ignore")
    text = text.decode("ascii")
    return re.sub(r"[^a-z0-9\-/.]+", " ", text.lower()).strip()


def _bucket(namespace: str, feature: str) -> int:
    # blake2b, not hash(): buckets must agree across processes, restarts and machines.
    digest = hashlib.blake2b(f"{namespace}:{feature}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % DIMENSIONS


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def _model_numbers(words: list[str], variants: bool) -> Counter:
    """Codes with separators removed; with `variants`, also their parts and suffix-less stem.

    "A3L791-03-BLU-S" yields "a3l79103blus", "a3l791" and "a3l79103" (the stem), so it meets
    "A3L791-S" through "a3l791"; a stem must keep a letter ("500gb" does not yield "500").
    """
    codes: Counter = Counter()
    for word in words:
        if len(word) < MODEL_MIN_CHARS or not _has_digit(word):
            continue
        joined = SEPARATORS_RE.sub("", word)
        codes[joined] += 1
        if not variants:
            continue
        for part in SEPARATORS_RE.split(word):
            if part != joined and len(part) >= MODEL_MIN_CHARS and _has_digit(part):
                codes[part] += 1
        stem = SUFFIX_RE.fullmatch(joined)
        if stem and len(stem[1]) >= MODEL_MIN_CHARS and not stem[1].isdigit():
            codes[stem[1]] += 1
    return codes


def _family_features(text: str, variants: bool = True) -> dict[str, Counter]:
    words = WORD_RE.findall(normalise(text))
    padded = f" {' '.join(words)} "
    ngrams = Counter(padded[i : i + n] for n in NGRAM_SIZES for i in range(len(padded) - n + 1))
    return {"ngram": ngrams, "word": Counter(words), "model": _model_numbers(words, variants)}


def hashed_counts(text: str, *, model_number_variants: bool = True) -> dict[str, Counter]:
    """Feature counts per family ("ngram", "word", "model"), keyed by hash bucket."""
    result = {}
    for family, counts in _family_features(text, model_number_variants).items():
        hashed: Counter = Counter()
        for feature, count in counts.items():
            hashed[_bucket(family, feature)] += count
        result[family] = hashed
    return result


def fit_idf(texts: Iterable[str]) -> IdfTable:
    """Count in how many texts each hashed feature occurs (model-number variants included)."""
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
    """The sparse L2-normalised TF-IDF vector of `text` as {index: value}.

    Each family is normalised on its own, scaled by its weight, then the sum is normalised:
    indices are in [0, DIMENSIONS), values in (0, 1], at most MAX_NONZERO entries; an empty
    text gives {}.
    """
    weights = {
        "ngram": config.ngram_weight,
        "word": config.word_weight,
        "model": config.model_number_weight,
    }
    counts_by_family = hashed_counts(text, model_number_variants=config.model_number_variants)
    vector: dict[int, float] = {}
    for family, counts in counts_by_family.items():
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
