"""The trained sequence model in plain NumPy: item vectors, visitor vectors and scores.

No TensorFlow: the web process serves with this. `train` exports its Keras weights under the
names below and `tests/behaviour/ml/test_sequence_export.py` checks this module against Keras.
"""

import numpy as np

from .config import SequenceConfig


class SequenceScorer:
    """Score items for a visitor's history with the weights of a trained model.

    weights: name -> array as in TrainResult.weights (or `artifacts.load`); config: the
    SequenceConfig it was trained with. Scores are dot products of the visitor vector with
    item vectors: higher is more likely next.
    """

    def __init__(self, weights: dict[str, np.ndarray], config: SequenceConfig) -> None:
        self.weights = weights
        self.config = config

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
        bool, True where the item has a trained id embedding (index < n_items); unknown items
        (cold start: products newer than the model) get id part 0, so they are placed by their
        content alone. Default: known for indices below n_items.
        """
        raise NotImplementedError("filled in by the next commit of issue #17 part 1")

    def visitor_vector(self, items: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """(dim,) float32 state after the history: (L,) item indices and (L,) kind codes.

        Only the latest config.max_len events count; items unknown to the model (>= n_items or
        < 0) are skipped. An empty history gives the vector of the empty sequence.
        """
        raise NotImplementedError("filled in by the next commit of issue #17 part 1")

    def score(
        self, items: np.ndarray, kinds: np.ndarray, vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """(n,) float32 score of every item for the history; vectors: `item_vectors()` output
        (computed once per model and reused), default the trained items' own vectors."""
        raise NotImplementedError("filled in by the next commit of issue #17 part 1")
