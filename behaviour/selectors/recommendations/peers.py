"""The peers signal: what the shoppers who buy most like this visitor buy (user-kNN).

The shopper profiles are written with each sequence version (services.sequence.training, one
row per shopper up to the training, in the version's item indices) and loaded once per process
beside its model; the visitor's own profile is read from their events now, so a new purchase
changes the neighbours in the very next answer.
"""

import logging
import threading
from pathlib import Path

import numpy as np

from behaviour.ml.sequence.data import KIND_CODES
from behaviour.ml.sequence.peers import PEERS_FILE, Peers

from ...models import SequenceModelVersion
from .history import VisitorHistory
from .sequence import ServingModel
from .signals import Signal

logger = logging.getLogger(__name__)

MODELS_KEPT = 2  # as the sequence models: the active version and an A/B test's candidate
_lock = threading.Lock()
_loaded: dict[int, Peers | None] = {}  # version id → its profiles (None: it has none)


def peers_of(model: ServingModel) -> Peers | None:
    """The profiles stored with `model`'s version; None for a version trained without them."""
    with _lock:
        if model.version_id not in _loaded:
            _loaded[model.version_id] = _load(model.version_id)
            while len(_loaded) > MODELS_KEPT:
                _loaded.pop(next(iter(_loaded)))
        return _loaded[model.version_id]


def _load(version_id: int) -> Peers | None:
    artifact = (
        SequenceModelVersion.objects.filter(pk=version_id)
        .values_list("artifact_path", flat=True)
        .first()
    )
    path = Path(artifact).parent / PEERS_FILE if artifact else None
    if path is None or not path.is_file():
        return None
    try:
        return Peers.load(path)
    except (OSError, ValueError) as exc:
        # Recommendations are served without peers rather than not at all; the log says why.
        logger.error("sequence version %s peers cannot serve: %s", version_id, exc)
        return None


def peers_signal(
    history: VisitorHistory, model: ServingModel | None, *, exclude: set[int], n: int
) -> Signal:
    """The n products the visitor's peers weigh most (none without a model or profiles).

    `because` names the product the visitor buys most often (it shapes whom they resemble),
    for "shoppers who often buy X also buy this"."""
    peers = None if model is None or history.is_empty else peers_of(model)
    if peers is None:
        return Signal()
    rows = np.array([model.position.get(e.product_id, -1) for e in history.events], np.int64)
    kinds = np.array([KIND_CODES.get(e.kind, 0) for e in history.events], np.int64)
    scores = peers.scores(rows, kinds)
    banned = [model.position[pid] for pid in exclude if pid in model.position]
    scores[banned] = 0.0
    n = min(n, int((scores > 0).sum()))
    if n <= 0:
        return Signal()
    anchor = _most_bought(history)
    signal = Signal()
    for row in np.argpartition(-scores, n - 1)[:n]:
        signal.add(int(model.product_ids[row]), float(scores[row]), anchor)
    return signal


def _most_bought(history: VisitorHistory) -> int:
    if history.bought:
        return max(history.bought, key=lambda pid: (history.bought[pid], -pid))
    return max(history.weights, key=lambda pid: (history.weights[pid], -pid))
