"""Peers: what the shoppers who buy most like a visitor buy (user-kNN, TIFU-kNN's neighbour part).

Plain NumPy/SciPy. Each known shopper has a profile: the kind-weighted count of their events per
item (`signals.KIND_WEIGHTS`, the same counts as the hybrid's repeat signal), L2-normalised. A
visitor's peer score of item j is Σ over their `neighbours` most cosine-similar profiles of
similarity × that profile's weight of j. In a shop where customers keep buying a stock range,
peers name the items of the range a customer has not bought yet, and rank the ones they have.

Chosen on a validation split inside the learning period (bench/next_purchase_signals.py): own
repeats plus peers beat own repeats plus item-kNN, and the result barely moved with the number
of neighbours (100 or 300), time decay or basket de-duplication, so the profile is the plain
count and the only parameter is the number of neighbours.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from .data import SequenceData
from .signals import KIND_WEIGHTS  # one weighting for repeats and peers

PEERS_FILE = "peers.npz"  # beside a version's model file
# When they were last rebuilt from the events kept (services.sequence.peers), in a version's
# metrics: part of the key a process keeps its served model under, so it reloads them.
PEERS_BUILT_AT = "peers_built_at"
NEIGHBOURS = 100  # 100 and 300 measured alike; fewer is cheaper to serve
MAX_PEERS = 200_000  # profiles kept, the most active shoppers first: bounds memory and time


@dataclass(frozen=True)
class Peers:
    """(n_peers, n_items) L2-normalised shopper profiles (CSR, float32)."""

    profiles: sparse.csr_matrix
    by_item: sparse.csc_matrix = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Similarities read only the columns of the visitor's items: the cost follows how
        # many shoppers had those items, not how many shoppers there are.
        object.__setattr__(self, "by_item", self.profiles.tocsc())

    @classmethod
    def fit(cls, data: SequenceData, max_peers: int = MAX_PEERS) -> "Peers":
        """One profile per visitor of `data` with events of a known kind (views count too)."""
        visitor_of_event = np.repeat(np.arange(data.n_visitors), data.lengths)
        weights = KIND_WEIGHTS[np.clip(data.kinds, 0, len(KIND_WEIGHTS) - 1)]
        counts = sparse.csr_matrix(
            (weights, (visitor_of_event, data.items)),
            shape=(data.n_visitors, data.n_items),
            dtype=np.float64,
        )
        counts.sum_duplicates()
        if counts.shape[0] > max_peers:
            activity = np.asarray(counts.sum(axis=1)).ravel()
            keep = np.sort(np.argsort(-activity, kind="stable")[:max_peers])
            counts = counts[keep]
        return cls(_normalised(counts).astype(np.float32))

    @property
    def n_items(self) -> int:
        return self.profiles.shape[1]

    def scores(
        self, items: np.ndarray, kinds: np.ndarray, neighbours: int = NEIGHBOURS
    ) -> np.ndarray:
        """(n_items,) float64 peer score of one history ((L,) item indices and kind codes): the
        dense form of `scored_items`."""
        out = np.zeros(self.n_items)
        scored, values = self.scored_items(items, kinds, neighbours)
        out[scored] = values
        return out

    def scored_items(
        self, items: np.ndarray, kinds: np.ndarray, neighbours: int = NEIGHBOURS
    ) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, their float64 peer scores > 0) of one history ((L,) item indices and
        kind codes); every other item scores 0. Only the visitor's items and their peers' are
        touched, never an array of the catalogue's size: this runs on every recommendation.

        A profile identical to the visitor's own (the visitor themself, when their history is
        in `profiles`) is skipped, so a known shopper is not their own peer. Nothing when the
        history holds no known item or nobody shares an item with it.
        """
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0)
        items = np.asarray(items, dtype=np.int64)
        kinds = np.asarray(kinds, dtype=np.int64)
        known = (items >= 0) & (items < self.n_items)
        held, event_item = np.unique(items[known], return_inverse=True)
        mine = np.bincount(
            event_item,
            weights=KIND_WEIGHTS[np.clip(kinds[known], 0, len(KIND_WEIGHTS) - 1)],
            minlength=len(held),
        )
        held, mine = held[mine > 0], mine[mine > 0]
        norm = np.linalg.norm(mine)
        if norm == 0:
            return nothing
        similarity = self.by_item[:, held] @ (mine / norm)
        similarity[similarity >= 1 - 1e-5] = 0.0  # the visitor's own profile
        n = min(neighbours, int((similarity > 0).sum()))
        if n == 0:
            return nothing
        nearest = np.argpartition(-similarity, n - 1)[:n]
        chosen = self.profiles[nearest]
        weighted = chosen.data * np.repeat(similarity[nearest], np.diff(chosen.indptr))
        scored, entry_item = np.unique(chosen.indices, return_inverse=True)
        values = np.bincount(entry_item, weights=weighted, minlength=len(scored))
        positive = values > 0
        return scored[positive].astype(np.int64), values[positive]

    def save(self, path: Path) -> Path:
        sparse.save_npz(path, self.profiles, compressed=False)
        return path

    @classmethod
    def load(cls, path: Path) -> "Peers":
        return cls(sparse.load_npz(path).tocsr().astype(np.float32))


def _normalised(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ counts
