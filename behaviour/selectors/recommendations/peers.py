"""The peers signal: what the shoppers who buy most like this visitor buy (user-kNN).

The shopper profiles are written with each sequence version (services.sequence.training, one
row per shopper up to the training, in the version's item indices) and loaded once per process
with its model (sequence_model.ServingModel.peers); the visitor's own profile is read from
their events now, so a new purchase changes the neighbours in the very next answer.
"""

import numpy as np

from behaviour.ml.sequence.data import KIND_CODES

from .history import VisitorHistory
from .sequence import ServingModel
from .signals import Signal


def peers_signal(
    history: VisitorHistory, model: ServingModel | None, *, exclude: set[int], n: int
) -> Signal:
    """The n products the visitor's peers weigh most (none without a model or profiles).

    `because` names the product the visitor buys most often (it shapes whom they resemble),
    for "shoppers who often buy X also buy this"."""
    peers = None if model is None or history.is_empty else model.peers
    if peers is None:
        return Signal()
    rows = np.array([model.position.get(e.product_id, -1) for e in history.events], np.int64)
    kinds = np.array([KIND_CODES.get(e.kind, 0) for e in history.events], np.int64)
    scored, scores = peers.scored_items(rows, kinds)
    banned = [model.position[pid] for pid in exclude if pid in model.position]
    kept = ~np.isin(scored, banned)
    scored, scores = scored[kept], scores[kept]
    n = min(n, len(scored))
    if n <= 0:
        return Signal()
    anchor = _most_bought(history)
    signal = Signal()
    for best in np.argpartition(-scores, n - 1)[:n]:
        signal.add(int(model.product_ids[scored[best]]), float(scores[best]), anchor)
    return signal


def _most_bought(history: VisitorHistory) -> int:
    if history.bought:
        return max(history.bought, key=lambda pid: (history.bought[pid], -pid))
    return max(history.weights, key=lambda pid: (history.weights[pid], -pid))
