"""The trained sequence model in plain NumPy: item vectors, visitor vectors and scores.

No TensorFlow: the web process serves with this. `train` exports its Keras weights under the
names below and `tests/behaviour/ml/test_sequence_export.py` checks this module against Keras.
"""

import numpy as np

from .config import SequenceConfig
from .forward import attention_last, gru_last


class SequenceScorer:
    """Score items for a visitor's history with the weights of a trained model.

    weights: name -> array as in TrainResult.weights (or `artifacts.load`); config: the
    SequenceConfig it was trained with. Scores are dot products of the visitor vector with
    item vectors: higher is more likely next.
    """

    def __init__(self, weights: dict[str, np.ndarray], config: SequenceConfig) -> None:
        self.weights = {
            name: np.asarray(value, dtype=np.float32) for name, value in weights.items()
        }
        self.config = config
        self._own_vectors: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        """Items with a trained id embedding (indices 0 .. n_items - 1)."""
        return int(self.weights["item_embedding"].shape[0])

    def item_vectors(
        self, content: np.ndarray | None = None, known: np.ndarray | None = None
    ) -> np.ndarray:
        """(n, dim) float32 output vectors of n items: id embedding + content projection.

        content: (n, d) float32 content vectors (zero rows for items without one), or None for
        the trained model's own content (kept in the weights) / no content part. known: (n,)
        bool, True where the item has a trained id embedding; unknown items (cold start:
        products newer than the model or without training events) get id part 0, so their
        content alone places them. Default: the model's own mask for indices below n_items
        (items without training events are unknown), unknown above.
        """
        w = self.weights
        if content is None:
            content = w.get("content")
        n = self.n_items if content is None else len(content)
        if known is None:
            known = np.zeros(n, dtype=bool)
            trained = min(n, self.n_items)
            known[:trained] = w["item_known"][:trained] > 0
        known = np.asarray(known, dtype=bool)
        ids = np.zeros((n, self.config.dim), dtype=np.float32)
        usable = np.flatnonzero(known & (np.arange(n) < self.n_items))
        ids[usable] = w["item_embedding"][usable]
        if content is not None and "content_kernel" in w:
            ids += np.asarray(content, dtype=np.float32) @ w["content_kernel"]
        return ids

    def visitor_vector(self, items: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """(dim,) float32 state after the history: (L,) item indices and (L,) kind codes.

        Only the latest config.max_len events count; items unknown to the model (>= n_items or
        < 0) are skipped. An empty history gives the vector of the empty sequence.
        """
        items, kinds = np.asarray(items, dtype=np.int64), np.asarray(kinds, dtype=np.int64)
        usable = (items >= 0) & (items < self.n_items) & (kinds > 0)
        items, kinds = items[usable][-self.config.max_len :], kinds[usable][-self.config.max_len :]
        x = self._own()[items] + self.weights["kind_embedding"][kinds]
        if self.config.architecture == "gru":
            if not len(x):  # padding steps leave the GRU state at zero
                return np.zeros(self.config.dim, dtype=np.float32)
            return gru_last(x, self.weights, self.config.layers)
        if not len(x):  # the model reads an empty window as padding at the last position
            x = np.zeros((1, self.config.dim), dtype=np.float32)
        return attention_last(x, self.weights, self.config)

    def score(
        self, items: np.ndarray, kinds: np.ndarray, vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """(n,) float32 score of every item for the history; vectors: `item_vectors()` output
        (computed once per model and reused), default the trained items' own vectors."""
        vectors = self._own() if vectors is None else vectors
        return vectors @ self.visitor_vector(items, kinds)

    def _own(self) -> np.ndarray:
        """The trained items' input/output vectors, exactly as the Keras model builds them."""
        if self._own_vectors is None:
            w = self.weights
            vectors = w["item_embedding"] * w["item_known"][:, None]
            if "content_kernel" in w:
                vectors = vectors + w["content"] @ w["content_kernel"]
            self._own_vectors = vectors.astype(np.float32)
        return self._own_vectors
