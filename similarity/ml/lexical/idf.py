"""Document frequencies of hashed features over a catalogue, and when they are worth refitting."""

import base64
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .hashing import DIMENSIONS

# Refit the IDF once this share of the catalogue was added, changed or removed since the fit.
# An IDF is a smooth function of document frequencies: after a fifth of the catalogue changed
# the common words are still common, and re-vectorising everything after each small import
# would cost the whole rebuild every time (docs/BENCHMARKS.md, "lexical-scale").
IDF_DRIFT_SHARE = 0.2


@dataclass
class IdfTable:
    """Per-bucket document frequencies over `documents` products; idf = ln((1+N)/(1+df)) + 1.

    `frequencies` is an int32 array of DIMENSIONS entries.
    """

    documents: int = 0
    frequencies: np.ndarray = field(default_factory=lambda: np.zeros(DIMENSIONS, np.int32))
    _weights: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _weighed_documents: int = field(default=-1, init=False, repr=False, compare=False)

    def weights(self) -> np.ndarray:
        """float32 (DIMENSIONS,) idf of every bucket (unseen buckets get the rarest idf).

        Kept after the first call (a million logarithms would dominate each query); counts
        added later must come with a new `documents` total, which drops the kept array.
        """
        if self._weights is None or self._weighed_documents != self.documents:
            ratio = (1.0 + self.documents) / (1.0 + self.frequencies.astype(np.float64))
            self._weights = (np.log(ratio) + 1.0).astype(np.float32)
            self._weighed_documents = self.documents
        return self._weights

    def idf(self, index: int) -> float:
        return math.log((1 + self.documents) / (1 + int(self.frequencies[index]))) + 1.0

    def as_json(self) -> dict:
        """JSON-safe form: the counts as zlib-compressed little-endian int32, base64."""
        packed = zlib.compress(self.frequencies.astype("<i4").tobytes(), 6)
        return {"documents": self.documents, "frequencies_zlib": base64.b64encode(packed).decode()}

    @classmethod
    def from_json(cls, data: dict) -> "IdfTable":
        if "frequencies_zlib" not in data:  # an index built before the packed form
            frequencies = np.zeros(DIMENSIONS, np.int32)
            for key, value in data.get("frequencies", {}).items():
                frequencies[int(key)] = value
            return cls(data["documents"], frequencies)
        raw = zlib.decompress(base64.b64decode(data["frequencies_zlib"]))
        return cls(data["documents"], np.frombuffer(raw, "<i4").astype(np.int32))


def fit_idf(matrices: list[sparse.csr_matrix]) -> IdfTable:
    """Count in how many rows each bucket occurs in any of `matrices` (same rows each)."""
    present = None
    for matrix in matrices:
        binary = (matrix > 0).astype(np.int8)
        present = binary if present is None else present + binary
    if present is None:
        return IdfTable()
    present = present.tocsr()
    present.sum_duplicates()
    frequencies = np.bincount(present.indices, minlength=DIMENSIONS).astype(np.int32)
    return IdfTable(present.shape[0], frequencies)


def idf_needs_refit(*, documents_at_fit: int, changed_since_fit: int) -> bool:
    """True once the products added, changed or removed since the fit reach IDF_DRIFT_SHARE."""
    if documents_at_fit <= 0:
        return True
    return changed_since_fit >= IDF_DRIFT_SHARE * documents_at_fit
