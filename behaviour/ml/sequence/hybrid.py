"""The served recommendation score: the sequence model fused with simpler signals (NumPy).

    fused(j) = Σ_s w_s · signal_s(j) / Σ_s w_s      over the signals s available

Signals, each (n_items,) in [0, 1] for one visitor's history (scaled by their maximum):
- sequence:     the sequence model's score (softmax over items of `SequenceScorer.score`)
- cooccurrence: item-kNN, Σ over the visitor's distinct items i of assoc(i, j) (co-purchase /
                co-view association, e.g. raw decayed counts) weighted by i's kind
- content:      cosine of j's content vector with the mean of the visitor's latest items'
- repeat:       how often the visitor bought j or put it in the basket (purchases count most),
                for repeat buyers; a view is no repeat
- popularity:   the item's (decayed) popularity: the fill when the history says little

Like `similarity.fusion`, a missing signal drops out of both sums; the contributions of each
signal add up to the fused score and, with the history items that led to j ("because you
viewed X and bought Y"), make the explain breakdown. Weights are tuned on a validation split
(`tune_weights`); already-bought items are excluded unless `allow_repeats`.
"""

from dataclasses import dataclass, field

import numpy as np

from .signals import Neighbours, because_of, visitor_signals
from .tuning import recall_of, tune_weights
from .weights import SIGNALS, HybridWeights, allowed, fuse

__all__ = [
    "SIGNALS",
    "HybridWeights",
    "Neighbours",
    "Recommendation",
    "allowed",
    "fuse",
    "recall_of",
    "recommend",
    "tune_weights",
    "visitor_signals",
]


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
    items behind the cooccurrence signal in `because`. Ties go to the lower item index.
    """
    if not signals:
        return []
    n_items = len(next(iter(signals.values())))
    fused = fuse(signals, weights)
    mask = allowed(n_items, items, kinds, weights, exclude)
    candidates = np.flatnonzero(mask)
    best = candidates[np.lexsort((candidates, -fused[candidates]))][:k]
    total = sum(weights.of(name) for name in signals)
    out = []
    for item in best:
        contributions = {
            name: float(weights.of(name) * values[item] / total) if total > 0 else 0.0
            for name, values in signals.items()
        }
        because = because_of(int(item), items, kinds, neighbours, "repeat" in signals)
        out.append(Recommendation(int(item), float(fused[item]), contributions, because))
    return out
