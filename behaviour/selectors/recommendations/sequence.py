"""The sequence model's signal, without TensorFlow: the visitor vector from the serving version's
NumPy weights (sequence_model.py), then the largest inner products among its item vectors in
pgvector, through its HNSW index. A version not stored yet serves by the exact NumPy product
over its vectors file, as versions did before their vectors moved into pgvector."""

import numpy as np
from threadpoolctl import ThreadpoolController

from behaviour.ml.sequence.data import KIND_CODES
from similarity import vector_store

from .history import VisitorHistory
from .sequence_model import ServingModel, serving_model
from .signals import Signal

__all__ = ["ServingModel", "exact_likeliest", "sequence_signal", "serving_model"]

_blas: ThreadpoolController | None = None  # made on first use: it inspects the loaded libraries


def _one_blas_thread():
    """A web worker shares its cores with the other workers and PostgreSQL: on a loaded machine,
    BLAS threads fighting them made these small products far slower than one thread."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def sequence_signal(
    history: VisitorHistory, model: ServingModel | None, *, exclude: set[int], n: int
) -> Signal:
    """The n products likeliest next by `model` (serving_model(); none without one), never one
    of `exclude`.

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
        visitor = model.scorer.visitor_vector(rows, kinds)
        scored = _likeliest(model, visitor, exclude, n)
    if not scored:
        return Signal()
    best = max(score for _, score in scored)
    anchor = history.events[int(np.flatnonzero(known)[-1])].product_id
    signal = Signal()
    for product_id, score in scored:
        signal.add(product_id, float(np.exp(score - best)), anchor)
    return signal


def _likeliest(
    model: ServingModel, visitor: np.ndarray, exclude: set[int], n: int
) -> list[tuple[int, float]]:
    """(product id, score) of the n best, by the version's HNSW index or, not stored, exactly."""
    if model.stored is not None:
        found = vector_store.item_vectors_nearest(
            model.stored, vector=visitor, k=n, exclude_product_ids=sorted(exclude)
        )
        return [(neighbour.product_id, -neighbour.distance) for neighbour in found]
    return exact_likeliest(model, model.vectors, visitor, exclude, n)


def exact_likeliest(
    model: ServingModel, vectors: np.ndarray, visitor: np.ndarray, exclude: set[int], n: int
) -> list[tuple[int, float]]:
    """The exact top n by the NumPy product over the (n, dim) `vectors` of the version's file
    (the bench's truth for the index's recall)."""
    scores = vectors @ visitor
    banned = [model.position[pid] for pid in exclude if pid in model.position]
    scores[banned] = -np.inf
    n = min(n, int(np.isfinite(scores).sum()))
    if n <= 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    return [(int(model.product_ids[row]), float(scores[row])) for row in top]
