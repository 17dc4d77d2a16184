"""Association scores of co-occurring pairs, and each item's best k partners (plain NumPy)."""

from collections.abc import Callable

import numpy as np

from .cooccurrence import Cooccurrence


def _xlogx(x: np.ndarray) -> np.ndarray:
    x = np.maximum(x, 0.0)
    return x * np.log(np.where(x > 0, x, 1.0))


def _llr(c: np.ndarray, ni: np.ndarray, nj: np.ndarray, n: float) -> np.ndarray:
    """Dunning's G² of the 2x2 table (both, i only, j only, neither); -inf where c <= expected."""
    table = (c, ni - c, nj - c, n - ni - nj + c)
    margins = (ni, n - ni, nj, n - nj)
    g2 = 2.0 * (sum(_xlogx(k) for k in table) - sum(_xlogx(m) for m in margins) + _xlogx(n))
    return np.where(c * n > ni * nj, np.maximum(g2, 0.0), -np.inf)


# Each scorer maps (C_ij, n_i, n_j, N, params) to scores of the same shape; -inf excludes a pair.
_Scorer = Callable[..., np.ndarray]
SCORERS: dict[str, _Scorer] = {
    "raw": lambda c, ni, nj, n: c,
    "cosine": lambda c, ni, nj, n: c / np.sqrt(ni * nj),
    "shrunk_cosine": lambda c, ni, nj, n, shrink=5.0: c / np.sqrt(ni * nj) * c / (c + shrink),
    "jaccard": lambda c, ni, nj, n: c / (ni + nj - c),
    # P(j | i) / n_j^beta: beta 0 ranks like raw, 0.5 like cosine, 1 like lift.
    "conditional": lambda c, ni, nj, n, beta=0.5: c / ni / nj**beta,
    "lift": lambda c, ni, nj, n, min_support=2.0: np.where(
        c >= min_support, c * n / (ni * nj), -np.inf
    ),
    "llr": _llr,
}


def score(co: Cooccurrence, method: str = "raw", **params: float) -> np.ndarray:
    """Association score (nnz,) of each stored pair (co.rows[p], co.cols[p]) by scorer name.

    Methods and their parameters: raw; cosine; shrunk_cosine (shrink λ: cosine * C/(C+λ));
    jaccard; conditional (beta); lift (min_support: pairs below it get -inf); llr.
    """
    if method not in SCORERS:
        raise ValueError(f"unknown scorer {method!r}; one of {sorted(SCORERS)}")
    ni, nj = co.item_counts[co.rows], co.item_counts[co.cols]
    return SCORERS[method](co.counts, ni, nj, co.n_baskets, **params)


def top_k(
    rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    n_items: int,
    k: int = 10,
    tie_break: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's k best-scored partners: (n_items, k) int64 indices (-1 pads) and scores (nan).

    rows, cols, scores: (nnz,) pairs, e.g. `co.rows, co.cols, score(co, ...)`; non-finite scores
    are dropped. Order: score descending, then tie_break[col] descending (e.g. popularity,
    (n_items,)), then col ascending, so equal inputs always give the same lists.
    """
    finite = np.isfinite(scores)
    rows, cols, scores = rows[finite], cols[finite], scores[finite]
    tie = np.zeros(len(cols)) if tie_break is None else -np.asarray(tie_break)[cols]
    order = np.lexsort((cols, tie, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    row_start = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - row_start
    kept = rank < k
    top = np.full((n_items, k), -1, dtype=np.int64)
    top_scores = np.full((n_items, k), np.nan)
    top[rows[kept], rank[kept]] = cols[kept]
    top_scores[rows[kept], rank[kept]] = scores[kept]
    return top, top_scores
