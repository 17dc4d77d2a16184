"""The sequence model's signal: the active SequenceModelVersion's score of every product as the
visitor's next, in NumPy (no TensorFlow in the web process).

The active version's weights and item vectors (cold products placed by their content alone, see
services.sequence) are loaded once per process and kept until another version is active: one
indexed query per request tells which version that is.
"""

import logging
import threading
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.data import KIND_CODES
from behaviour.ml.sequence.hybrid import SIGNALS, HybridWeights
from behaviour.ml.sequence.serving import SequenceScorer

from ...models import SequenceModelVersion
from .history import VisitorHistory
from .signals import Signal


@dataclass(frozen=True)
class ServingModel:
    version_id: int
    scorer: SequenceScorer
    vectors: np.ndarray  # (n, dim) float32: row i is product_ids[i]'s output vector
    product_ids: np.ndarray  # (n,) int64
    position: dict[int, int]  # product id → row
    weights: dict[str, float] | None  # the version's tuned fusion weights, if it has them


logger = logging.getLogger(__name__)

MODELS_KEPT = 2  # the active version and an A/B test's candidate
_lock = threading.Lock()
_loaded: dict[int, ServingModel] = {}  # oldest first
_broken: set[int] = set()  # versions whose files could not be read (logged once)
_blas: ThreadpoolController | None = None  # made on first use: it inspects the loaded libraries


def _one_blas_thread():
    """A web worker answers one request at a time on cores it shares with the other workers and
    PostgreSQL: on a loaded machine, BLAS threads fighting them for the cores made these small
    products about a hundred times slower than one thread computing them alone."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def serving_model(*, version: SequenceModelVersion | None = None) -> ServingModel | None:
    """The active version (or `version`, an A/B test's candidate), loaded; None when there is
    none. The last two loaded stay in memory, so both arms of a test are served from it."""
    if version is None:
        active = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE)
        version = active.only("pk", "artifact_path", "vectors_path", "metrics").first()
    if version is None or not version.vectors_path:
        return None
    with _lock:
        if version.pk in _broken:
            return None
        if version.pk not in _loaded:
            try:
                loaded = _load(
                    version.pk, version.artifact_path, version.vectors_path, version.metrics
                )
            except (OSError, ValueError, KeyError) as exc:
                # A lost or foreign file must not take the recommendations down: they are
                # served without the sequence signal, and the log says why.
                logger.error("sequence version %s cannot serve: %s", version.pk, exc)
                _broken.add(version.pk)
                return None
            _loaded[version.pk] = loaded
            while len(_loaded) > MODELS_KEPT:
                _loaded.pop(next(iter(_loaded)))
        return _loaded[version.pk]


def _load(pk: int, artifact_path: str, vectors_path: str, metrics: dict) -> ServingModel:
    weights, config = artifacts.load(artifact_path)
    with np.load(vectors_path, allow_pickle=False) as stored:
        product_ids, vectors = stored["product_ids"], stored["vectors"].astype(np.float32)
    position = {int(pid): row for row, pid in enumerate(product_ids)}
    tuned = metrics.get("hybrid_weights")
    fusion = {name: HybridWeights.from_dict(tuned).of(name) for name in SIGNALS} if tuned else None
    return ServingModel(pk, SequenceScorer(weights, config), vectors, product_ids, position, fusion)


def sequence_signal(
    history: VisitorHistory, model: ServingModel | None, *, exclude: set[int], n: int
) -> Signal:
    """The n products likeliest next by `model` (serving_model(); none without one).

    The value is the softmax probability scaled by the best candidate's, exp(s - s_best), as the
    hybrid's sequence signal; `because` is the newest product the model knows (its state is
    driven by the latest events)."""
    if model is None or history.is_empty:
        return Signal()
    rows = np.array([model.position.get(e.product_id, -1) for e in history.events], np.int64)
    kinds = np.array([KIND_CODES.get(e.kind, 0) for e in history.events], np.int64)
    known = rows >= 0
    if not known.any():
        return Signal()
    with _one_blas_thread():
        scores = model.vectors @ model.scorer.visitor_vector(rows, kinds)
    banned = [model.position[pid] for pid in exclude if pid in model.position]
    scores[banned] = -np.inf
    n = min(n, int(np.isfinite(scores).sum()))
    if n <= 0:
        return Signal()
    top = np.argpartition(-scores, n - 1)[:n]
    best = float(scores[top].max())
    anchor = history.events[int(np.flatnonzero(known)[-1])].product_id
    signal = Signal()
    for row in top:
        signal.add(int(model.product_ids[row]), float(np.exp(scores[row] - best)), anchor)
    return signal
