"""Tuning the hybrid's weights and repeat rule on validation visitors (NumPy; see `hybrid`).
The validation visitors' cases: `tuning_cases`."""

from dataclasses import replace

import numpy as np

from .weights import SIGNALS, HybridWeights, fuse


def recall_of(
    cases: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]],
    weights: HybridWeights,
    k: int = 20,
) -> float:
    """Mean Recall@k of the fused lists on (signals, bought mask, target items) cases."""
    values = []
    for signals, bought, targets in cases:
        fused = fuse(signals, weights)
        if not len(fused):
            values.append(0.0)
            continue
        if not weights.allow_repeats:
            fused = np.where(bought, -np.inf, fused)
        top = np.argpartition(-fused, min(k, len(fused) - 1))[:k]
        top = top[np.isfinite(fused[top])]  # fewer items than k: the excluded ones come along
        values.append(np.isin(targets, top).sum() / len(targets))
    return float(np.mean(values)) if values else float("nan")


def tune_weights(
    cases: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]],
    k: int = 20,
    grid: tuple[float, ...] = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0),
    start: HybridWeights | None = None,
) -> HybridWeights:
    """Weights with the best mean Recall@k on validation cases (`recall_of`).

    cases: (signals, bought (n_items,) bool mask, target items) per validation visitor.
    Coordinate search over the grid per signal the cases hold (sequence fixed at 1, the
    scale; the others keep their `start` weight), two rounds, then the repeat rule (allow or
    exclude already-bought items) is chosen the same way.
    """
    best = start or HybridWeights()
    best_recall = recall_of(cases, best, k)
    present = [name for name in SIGNALS[1:] if any(name in signals for signals, *_ in cases)]
    for _ in range(2):
        for name in present:
            for value in grid:
                trial = replace(best, **{name: value})
                recall = recall_of(cases, trial, k)
                if recall > best_recall:
                    best, best_recall = trial, recall
    flipped = replace(best, allow_repeats=not best.allow_repeats)
    return flipped if recall_of(cases, flipped, k) > best_recall else best
