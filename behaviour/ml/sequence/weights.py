"""The hybrid's weights, the fused score and the repeat-purchase rule (NumPy; see `hybrid`)."""

from dataclasses import asdict, dataclass, fields

import numpy as np

from .data import PURCHASE

SIGNALS = ("sequence", "cooccurrence", "content", "repeat", "peers", "popularity")


@dataclass(frozen=True)
class HybridWeights:
    """Weight of each signal and the repeat-purchase rule.

    Defaults (served until a version brings its own, tuned at training): the weights
    `tune_weights` chose with the SASRec model on the online-retail validation month
    (bench/sequence_quality.py, docs/BENCHMARKS.md "sequence-quality"): counted repeats and
    peers carry this shop, the model and content refine. The repeat rule likewise: allowing
    already-bought items gave Recall@20 0.28 against 0.06 without them, as most of this shop's
    next purchases are repeats.
    """

    sequence: float = 1.0
    cooccurrence: float = 0.1
    content: float = 0.3
    repeat: float = 3.0
    # Tuned to 0, but 0 to 0.3 measured within 0.001 Recall@20 on both splits of
    # bench/next_purchase_signals.py: a small weight keeps popularity the fill of short histories.
    popularity: float = 0.03
    peers: float = 3.0
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
