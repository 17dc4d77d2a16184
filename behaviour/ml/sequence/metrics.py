"""Ranking measures of next purchases (plain NumPy), shared by training and the bench.

Per visitor: Recall@k = |top k ∩ targets| / |targets| (targets: the distinct items bought
later), NDCG@k with binary gains over the ideal min(k, |targets|) hits; both averaged over
visitors, as in the online-retail protocol's "next purchases".
"""

import numpy as np


def top_k(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """(V, k) int64 best items of (V, n) scores, best first; allowed: (V, n) or (n,) bool mask."""
    scores = np.asarray(scores, dtype=np.float64)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def recall_at_k(top: np.ndarray, targets: list[np.ndarray]) -> np.ndarray:
    """(V,) Recall@k of each visitor's (k,) list against their target items."""
    return np.array(
        [np.isin(t, row).sum() / len(t) for row, t in zip(top, targets, strict=True)],
        dtype=np.float64,
    )


def ndcg_at_k(top: np.ndarray, targets: list[np.ndarray]) -> np.ndarray:
    """(V,) NDCG@k, binary gains: Σ hit_r / log2(r + 2) over the ideal ordering's sum."""
    discounts = 1.0 / np.log2(np.arange(top.shape[1]) + 2.0)
    values = []
    for row, t in zip(top, targets, strict=True):
        gains = np.isin(row, t) * discounts
        ideal = discounts[: min(len(t), len(row))].sum()
        values.append(gains.sum() / ideal)
    return np.array(values, dtype=np.float64)
