"""The signals a personal recommendation fuses, each a map candidate → raw score plus, per
candidate, the history product that brought it (for "because you bought X").

- cooccurrence: the refreshed bought-together and also-viewed partners of the visitor's products;
- content: the products nearest to the visitor's products in image space (content.py);
- repeat: the visitor's own purchases and adds to basket, counted and weighted by how well each
  product sells now (when repeats are allowed);
- peers: what the shoppers who buy most like the visitor buy (see peers.py);
- sequence: the active sequence model's score of the next product (see sequence.py).
"""

from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from behaviour.ml.sequence.data import KIND_CODES
from behaviour.ml.sequence.signals import KIND_WEIGHTS, selling_factor

from ...models import ItemAssociation, ProductPopularity
from .history import REPEAT_KINDS, VisitorHistory

# Bought together says more about the next purchase than viewed together: half weight for views,
# as the refresh's own blend of the two (services.association_writes) does.
ASSOCIATION_WEIGHT = {
    ItemAssociation.Kind.BOUGHT_TOGETHER: 1.0,
    ItemAssociation.Kind.ALSO_VIEWED: 0.5,
}
SOURCES = 20  # the visitor's most telling products whose partners are read
_PARTNERS = (
    f"SELECT kind, product_id, other_id, score FROM {ItemAssociation._meta.db_table} "
    "WHERE product_id = ANY(%s) AND NOT (other_id = ANY(%s))"
)
_TRENDING = (
    f"SELECT product_id, score FROM {ProductPopularity._meta.db_table} WHERE product_id = ANY(%s)"
)


@dataclass
class Signal:
    scores: dict[int, float] = field(default_factory=dict)
    because: dict[int, int] = field(default_factory=dict)  # candidate → history product
    # Each candidate's largest single contribution: `because` names the source that gave it,
    # not whichever source happened to add more than the running total of those before.
    largest: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    def add(self, candidate: int, value: float, source: int) -> None:
        self.scores[candidate] = self.scores.get(candidate, 0.0) + value
        if value > self.largest.get(candidate, 0.0):
            self.largest[candidate] = value
            self.because[candidate] = source

    def best(self, n: int) -> "Signal":
        """Its n best candidates (ties by id): what reaches the fusion's filter check."""
        kept = sorted(self.scores, key=lambda pid: (-self.scores[pid], pid))[:n]
        return Signal(
            {pid: self.scores[pid] for pid in kept},
            {pid: self.because[pid] for pid in kept if pid in self.because},
        )


def strongest(history: VisitorHistory, n: int = SOURCES) -> dict[int, float]:
    ranked = sorted(history.weights.items(), key=lambda item: (-item[1], item[0]))
    return dict(ranked[:n])


def cooccurrence(history: VisitorHistory, *, exclude: set[int]) -> Signal:
    """Partners of the visitor's products; each source's list is scaled to its best partner, so
    one much-bought product cannot drown the others, and weighted by the source's weight."""
    sources = strongest(history)
    with connection.cursor() as cursor:  # plain SQL: the ORM's IN lists cost more to compile
        cursor.execute(_PARTNERS, [list(sources), list(exclude)])
        rows = cursor.fetchall()
    best: dict[tuple[str, int], float] = {}
    for kind, source, _, score in rows:
        best[kind, source] = max(best.get((kind, source), 0.0), score)
    signal = Signal()
    for kind, source, other, score in rows:
        if best[kind, source] > 0:
            value = sources[source] * ASSOCIATION_WEIGHT[kind] * score / best[kind, source]
            signal.add(other, value, source)
    return signal


def repeats(history: VisitorHistory) -> Signal:
    """The visitor's own purchases (and adds to basket), counted: many shops' best predictor of
    the next, and what is bought most often first. The hybrid's repeat signal, as the sequence
    bench measures it: each event weighs its kind's `KIND_WEIGHTS` (a purchase 1), and each
    product its `selling_factor`, from trending as of the last refresh (a product the shop no
    longer sells is seldom bought again)."""
    counts: dict[int, float] = {}
    for event in history.events:
        if event.kind in REPEAT_KINDS:
            weight = float(KIND_WEIGHTS[KIND_CODES[event.kind]])
            counts[event.product_id] = counts.get(event.product_id, 0.0) + weight
    with connection.cursor() as cursor:  # plain SQL, as the partners above
        cursor.execute(_TRENDING, [list(counts)])
        trending = dict(cursor.fetchall())
    factors = selling_factor(np.array([trending.get(pid, 0.0) for pid in counts]))
    signal = Signal()
    for (pid, count), factor in zip(counts.items(), factors.tolist(), strict=True):
        signal.add(pid, count * factor, pid)
    return signal
