"""The hybrid's weights, the fused score and the repeat-purchase rule (NumPy; see `hybrid`)."""

from dataclasses import asdict, dataclass, fields

import numpy as np

from .data import PURCHASE

SIGNALS = ("sequence", "cooccurrence", "content", "repeat", "peers", "popularity")


@dataclass(frozen=True)
class HybridWeights:
    """Weight of each signal and the repeat-purchase rule.

    Defaults: the weights `tune_weights` chose with the SASRec model on the online-retail
    validation month (bench/sequence_quality.py, docs/BENCHMARKS.md "sequence-quality"); the
    repeat rule likewise: allowing already-bought items gave Recall@20 0.27 against 0.05
    without them, as most of this shop's next purchases are repeats.
    """

    sequence: float = 1.0
    cooccurrence: float = 0.3
    content: float = 0.3
    repeat: float = 3.0
    popularity: float = 0.3
    peers: float = 0.0
    allow_repeats: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "HybridWeights":
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in known})

    def of(self, signal: str) -> float:
        return float(getattr(self, signal))


def fuse(signals: dict[str, np.ndarray], weights: HybridWeights) -> np.ndarray:
    """(n_items,) fused score: Σ w_s · signal_s / Σ w_s over the signals present."""
    total = sum(weights.of(name) for name in signals)
    if not signals or total <= 0:
        return np.zeros(len(next(iter(signals.values()))) if signals else 0)
    return sum(weights.of(name) * values for name, values in signals.items()) / total


def allowed(
    n_items: int,
    items: np.ndarray,
    kinds: np.ndarray,
    weights: HybridWeights,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """(n_items,) bool: items that may be recommended to this history.

    Already-bought items are excluded unless weights.allow_repeats; exclude: (m,) item indices
    the caller rules out (merchandising, out of stock).
    """
    mask = np.ones(n_items, dtype=bool)
    items, kinds = np.asarray(items, dtype=np.int64), np.asarray(kinds)
    if not weights.allow_repeats:
        bought = items[(kinds == PURCHASE) & (items >= 0) & (items < n_items)]
        mask[bought] = False
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        mask[exclude[(exclude >= 0) & (exclude < n_items)]] = False
    return mask
