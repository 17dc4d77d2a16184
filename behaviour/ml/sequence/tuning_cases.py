"""The cases the hybrid's weights are tuned on (`tuning.tune_weights`): validation visitors'
signals as the recommendations serve them, and what each bought next (NumPy)."""

from collections.abc import Callable

import numpy as np

from .. import cooccurrence, popularity, scorers
from .data import KIND_CODES, PURCHASE, SequenceData, histories_and_targets
from .peers import Peers
from .signals import (
    REPEAT_CODES,
    SERVED_HISTORY_EVENTS,
    Neighbours,
    scaled_to_best,
    visitor_signals,
)

# Validation visitors the weights are tuned on (a seeded sample beyond): enough for a stable
# Recall@20 difference between grid points, bounded so tuning stays seconds at any shop size.
TUNING_VISITORS = 2_000
CANDIDATES = 200  # per signal and of their plain sum (compact)
NEIGHBOURS = 100  # co-occurrence partners kept per item, as the bench's item-kNN
SECONDS_PER_DAY = 86_400
VIEW, CLICK = KIND_CODES["view"], KIND_CODES["click"]


def validation_cases(
    train: SequenceData,
    valid: SequenceData,
    *,
    content: np.ndarray | None = None,
    sequence: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    peers: Peers | None = None,
    selling_half_life_days: float | None = None,
    view_share: float = 0.0,
    target_kinds: tuple[int, ...] = (PURCHASE,),
    history_events: int = SERVED_HISTORY_EVENTS,
    seed: int = 0,
) -> list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """`tune_weights` cases of the visitors in both parts of a time split.

    The signals read only `train`: co-occurrence counts each visitor's events of one day as a
    basket (the events carry no order), peers are `train`'s shoppers; the targets
    are each visitor's items of `valid` events of `target_kinds` (what they bought, or for a
    shop of views only every kind: `data.target_kinds`). sequence: (items, kinds) -> (n_items,)
    raw scores of the trained model; selling_half_life_days, view_share: weigh repeats by trending
    as the refresh computes it (`popularity.trending`) and the served repeats read it (None:
    unweighted). Each visitor's signals read their newest `history_events` events, as the
    recommendations read a visitor per request, so the weights are tuned on what is served:
    also without popularity (trending fills what the served signals leave, it is none of them)
    and with the served exclusions (`_as_served`). Each case keeps only its candidates
    (`compact`).
    """
    inputs, targets = histories_and_targets(train, valid, target_kinds)
    chosen = np.random.default_rng(seed).permutation(len(inputs))[:TUNING_VISITORS]
    baskets = np.repeat(np.arange(train.n_visitors, dtype=np.int64), train.lengths)
    baskets = baskets * 1_000_000 + train.times // SECONDS_PER_DAY
    now = float(train.times.max()) if train.n_events else 0.0
    co = cooccurrence.fit(baskets, train.items, train.times, train.n_items, now)
    top, top_scores = scorers.top_k(
        co.rows, co.cols, scorers.score(co, "raw"), train.n_items, NEIGHBOURS
    )
    neighbours = Neighbours.from_top_k(top, top_scores)
    selling = None
    if selling_half_life_days is not None:
        parts = [(train.kinds == PURCHASE, 1.0), (np.isin(train.kinds, (VIEW, CLICK)), view_share)]
        selling = popularity.trending(
            baskets, train.items, train.times, train.n_items, now, selling_half_life_days, parts
        )
    cases = []
    for index in np.sort(chosen):
        items, kinds = (part[-history_events:] for part in inputs[index])
        signals = visitor_signals(
            items=items,
            kinds=kinds,
            n_items=train.n_items,
            sequence_scores=None if sequence is None else sequence(items, kinds),
            neighbours=neighbours,
            content=content,
            peer_scores=None if peers is None else peers.scores(items, kinds),
            selling=selling,
        )
        bought, seen_only = _as_served(items, kinds, train.n_items)
        cases.append(compact(signals, bought, targets[index], never=seen_only))
    return cases


def _as_served(items: np.ndarray, kinds: np.ndarray, n_items: int) -> tuple[np.ndarray, ...]:
    """(bought, seen only) masks of a history as the recommendations treat the visitor: what
    they bought or put in the basket is the repeat rule's to allow; products they viewed but
    neither bought nor put in the basket are never recommended."""
    bought = np.zeros(n_items, dtype=bool)
    bought[items[np.isin(kinds, REPEAT_CODES)]] = True
    seen_only = np.zeros(n_items, dtype=bool)
    seen_only[items] = True
    return bought, seen_only & ~bought


def compact(
    signals: dict[str, np.ndarray],
    bought: np.ndarray,
    targets: np.ndarray,
    never: np.ndarray | None = None,
) -> tuple:
    """The case restricted to the union of each signal's CANDIDATES best items and those of
    their plain sum, less the items it may `never` recommend; targets outside it become -1
    (never found, still counted), so memory is bounded. Each signal is then scaled to its best
    item kept, as the served fusion scales to its best candidate. An approximation: an item
    fair on several signals can outrank items best on one, which the sum's best keep, but a
    weighting could still favour one outside all of them (on online-retail's June validation
    the recall of three weightings was identical)."""
    ranked = [*signals.values(), sum(signals.values())] if signals else []
    keep = np.unique(
        np.concatenate(
            [np.argpartition(-v, min(CANDIDATES, len(v) - 1))[:CANDIDATES] for v in ranked]
            or [np.zeros(0, dtype=np.int64)]
        )
    )
    if never is not None:
        keep = keep[~never[keep]]
    position = np.full(len(bought), -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    return (
        {name: scaled_to_best(values[keep]) for name, values in signals.items()},
        bought[keep],
        position[np.asarray(targets, dtype=np.int64)],
    )
