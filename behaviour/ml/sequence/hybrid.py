"""The served recommendation score: the sequence model fused with simpler signals (NumPy).

    fused(j) = Σ_s w_s · signal_s(j) / Σ_s w_s      over the signals s available

Signals, each (n_items,) in [0, 1] for one visitor's history (scaled by their maximum):
- sequence:     the sequence model's score (softmax over items of `SequenceScorer.score`)
- cooccurrence: item-kNN, Σ over the visitor's distinct items i of assoc(i, j) (co-purchase /
                co-view association, e.g. raw decayed counts) weighted by i's kind
- content:      cosine of j's content vector with the mean of the visitor's latest items'
- repeat:       how often the visitor already had j (purchases count most), for repeat buyers

Like `similarity.fusion`, a missing signal drops out of both sums; the contributions of each
signal add up to the fused score and, with the history items that led to j ("because you
viewed X and bought Y"), make the explain breakdown. Weights are tuned on a validation split
(`tune_weights`); already-bought items are excluded unless `allow_repeats`.
"""

from dataclasses import asdict, dataclass, field, fields

import numpy as np

SIGNALS = ("sequence", "cooccurrence", "content", "repeat")


@dataclass(frozen=True)
class HybridWeights:
    """Weight of each signal and the repeat-purchase rule (defaults chosen by bench measurement)."""

    sequence: float = 1.0
    cooccurrence: float = 0.5
    content: float = 0.1
    repeat: float = 1.0
    allow_repeats: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "HybridWeights":
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in known})

    def of(self, signal: str) -> float:
        return float(getattr(self, signal))


@dataclass(frozen=True)
class Neighbours:
    """Item-to-item associations as (P,) parallel pairs: source item -> partner, score > 0.

    Build from `behaviour.ml.scorers.top_k` output (`from_top_k`) or from stored association
    rows of just the visitor's items (the served path).
    """

    sources: np.ndarray
    partners: np.ndarray
    scores: np.ndarray

    @classmethod
    def from_top_k(cls, top: np.ndarray, top_scores: np.ndarray) -> "Neighbours":
        """Pairs of (n_items, m) lists, -1 padded (scorers.top_k output)."""
        raise NotImplementedError("filled in by the next commit of issue #17 part 1")


@dataclass
class Recommendation:
    """One recommended item, its fused score and why.

    contributions: signal -> w_s · signal_s / Σ w (they add up to score); because: up to three
    (history item, kind code) pairs that led to the item, strongest first.
    """

    item: int
    score: float
    contributions: dict[str, float]
    because: list[tuple[int, int]] = field(default_factory=list)


def visitor_signals(
    *,
    items: np.ndarray,
    kinds: np.ndarray,
    n_items: int,
    sequence_scores: np.ndarray | None = None,
    neighbours: Neighbours | None = None,
    content: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The (n_items,) signals in [0, 1] of one history: (L,) items and kind codes, oldest first.

    sequence_scores: (n_items,) raw `SequenceScorer.score` output; content: (n_items, d)
    L2-normalised content vectors (zero rows for items without one). Signals whose input is
    None, or that are zero everywhere, are left out.
    """
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")


def fuse(signals: dict[str, np.ndarray], weights: HybridWeights) -> np.ndarray:
    """(n_items,) fused score: Σ w_s · signal_s / Σ w_s over the signals present."""
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")


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
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")


def recommend(
    signals: dict[str, np.ndarray],
    weights: HybridWeights,
    *,
    k: int,
    items: np.ndarray,
    kinds: np.ndarray,
    neighbours: Neighbours | None = None,
    exclude: np.ndarray | None = None,
) -> list[Recommendation]:
    """The k best allowed items of one history, with their breakdown (fewer when fewer allowed).

    items, kinds: the history the signals were built from; neighbours: to name the history
    items behind the cooccurrence signal in `because`.
    """
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")


def tune_weights(
    cases: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]],
    k: int = 20,
    grid: tuple[float, ...] = (0.0, 0.1, 0.3, 1.0, 3.0),
) -> HybridWeights:
    """Weights with the best mean Recall@k on validation cases.

    cases: (signals, allowed mask, target items) per validation visitor. Coordinate search over
    the grid per signal (sequence fixed at 1), then the repeat rule is chosen the same way.
    """
    raise NotImplementedError("filled in by the next commit of issue #17 part 1")
