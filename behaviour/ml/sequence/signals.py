"""The hybrid's input signals of one visitor's history, and the history items behind an item.

Plain NumPy. See `hybrid` for how the signals are fused and what each one means.
"""

from dataclasses import dataclass

import numpy as np

from .data import KIND_CODES


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
        rows, slots = np.nonzero(np.asarray(top) >= 0)
        return cls(
            sources=rows.astype(np.int64),
            partners=np.asarray(top)[rows, slots].astype(np.int64),
            scores=np.asarray(top_scores, dtype=np.float64)[rows, slots],
        )


def visitor_signals(
    *,
    items: np.ndarray,
    kinds: np.ndarray,
    n_items: int,
    sequence_scores: np.ndarray | None = None,
    neighbours: Neighbours | None = None,
    content: np.ndarray | None = None,
    popularity: np.ndarray | None = None,
    peer_scores: np.ndarray | None = None,
    selling: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The (n_items,) signals in [0, 1] of one history: (L,) items and kind codes, oldest first.

    sequence_scores: (n_items,) raw `SequenceScorer.score` output; content: (n_items, d)
    L2-normalised content vectors (zero rows for items without one); popularity: (n_items,)
    counts, the fill for short histories; peer_scores: (n_items,) `peers.Peers.scores` of the
    history (what the shoppers who buy most like this one buy); selling: (n_items,) trending
    purchases (decayed over days, not months), which weigh the repeats (`selling_factor`).
    Signals whose input is None, or that are zero everywhere, are left out.
    """
    items = np.asarray(items, dtype=np.int64)
    kinds = np.asarray(kinds, dtype=np.int64)
    known = (items >= 0) & (items < n_items)
    items, kinds = items[known], kinds[known]
    weight = KIND_WEIGHTS[np.clip(kinds, 0, len(KIND_WEIGHTS) - 1)]
    out = {}
    if sequence_scores is not None and len(items):
        scores = np.asarray(sequence_scores, dtype=np.float64)[:n_items]
        out["sequence"] = np.exp(scores - scores.max())  # softmax scaled to a maximum of 1
    if neighbours is not None and len(items):
        out["cooccurrence"] = _cooccurrence(items, weight, neighbours, n_items)
    if content is not None and len(items):
        out["content"] = _content(items, content)
    if len(items):
        # What the visitor bought or put in the basket, as served: a view is no repeat.
        kept = np.isin(kinds, REPEAT_CODES)
        repeats = np.bincount(items[kept], weights=weight[kept], minlength=n_items)
        out["repeat"] = repeats.astype(np.float64)  # none kept: NumPy counts in integers
        if selling is not None:
            out["repeat"] *= selling_factor(np.asarray(selling, dtype=np.float64)[:n_items])
    if peer_scores is not None and len(items):
        out["peers"] = np.asarray(peer_scores, dtype=np.float64)[:n_items]
    if popularity is not None:
        out["popularity"] = np.asarray(popularity, dtype=np.float64)[:n_items]
    return {name: scaled_to_best(values) for name, values in out.items() if np.any(values > 0)}


# The kinds a repeat counts (purchases and adds to basket), as the served repeats do.
REPEAT_CODES = (KIND_CODES["add_to_cart"], KIND_CODES["purchase"])
# How much one event of each kind code (data.KIND_CODES: padding, view, cart, purchase, click)
# says about the visitor's taste: buying most, a view or click a quarter of it.
KIND_WEIGHTS = np.array([0.0, 0.25, 0.5, 1.0, 0.25])
# The newest events the recommendations read per request (selectors.recommendations.history):
# the shortest window that is as good as the whole history on the online-retail protocol's
# validation split (bench/next_purchase_signals.py measures 50 to 400 side by side; 50 lost
# about 0.004 Recall@20 there, a wholesale customer's repeats reach further back), since every
# event read costs every uncached request (bench/behaviour_serving.py times both windows).
SERVED_HISTORY_EVENTS = 100
CONTENT_RECENT = 20  # the content signal reads the visitor's latest distinct items
# A product a shopper bought before is bought again only while the shop still sells it: repeats
# are weighted by sqrt(1 + its trending purchases, the served trending's 7-day half-life). On the
# online-retail protocol's validation split (chosen there; bench/next_purchase_signals.py) this
# lifted own repeats alone from Recall@20 0.2275 to 0.2324 and the tuned hybrid from 0.2402 to
# 0.2445; sales counted over 14 to 56 days, a power of 1 or a 14-day half-life gained less.
SELLING_POWER = 0.5


def selling_factor(selling: np.ndarray) -> np.ndarray:
    """The repeat weight of products by their trending purchases (decayed basket counts)."""
    return (1.0 + np.maximum(selling, 0.0)) ** SELLING_POWER


def scaled_to_best(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1]: negatives as 0, divided by the largest (all 0 stay 0)."""
    values = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else values


def _cooccurrence(items, weight, neighbours: Neighbours, n_items: int) -> np.ndarray:
    per_item = np.bincount(items, weights=weight, minlength=n_items)
    pairs = np.flatnonzero(per_item[np.clip(neighbours.sources, 0, n_items - 1)] > 0)
    pairs = pairs[(neighbours.sources[pairs] < n_items) & (neighbours.partners[pairs] < n_items)]
    values = neighbours.scores[pairs] * per_item[neighbours.sources[pairs]]
    return np.bincount(neighbours.partners[pairs], weights=values, minlength=n_items)


def _content(items: np.ndarray, content: np.ndarray) -> np.ndarray:
    _, first_from_end = np.unique(items[::-1], return_index=True)
    recent = items[::-1][np.sort(first_from_end)][:CONTENT_RECENT]
    profile = content[recent].mean(axis=0)
    norm = np.linalg.norm(profile)
    return content @ (profile / norm) if norm > 0 else np.zeros(len(content))


def because_of(item, items, kinds, neighbours, repeats: bool) -> list[tuple[int, int]]:
    """Up to three (history item, kind) behind item: itself when had before, then partners."""
    items, kinds = np.asarray(items, dtype=np.int64), np.asarray(kinds, dtype=np.int64)
    strongest: dict[int, tuple[float, int]] = {}  # history item -> (strength, strongest kind)
    for source, kind in zip(items.tolist(), kinds.tolist(), strict=True):
        strength = KIND_WEIGHTS[min(max(kind, 0), len(KIND_WEIGHTS) - 1)]
        if source not in strongest or strength > strongest[source][0]:
            strongest[source] = (strength, kind)
    reasons: list[tuple[float, int, int]] = []
    if repeats and item in strongest:
        reasons.append((np.inf, item, strongest[item][1]))
    if neighbours is not None:
        pairs = np.flatnonzero(neighbours.partners == item)
        for source, score in zip(neighbours.sources[pairs], neighbours.scores[pairs], strict=True):
            if int(source) in strongest and int(source) != item:
                strength, kind = strongest[int(source)]
                reasons.append((float(score) * strength, int(source), kind))
    reasons.sort(key=lambda r: (-r[0], r[1]))
    return [(source, kind) for _, source, kind in reasons[:3]]
