"""Small shopper histories for the sequence model's resume tests (plain NumPy)."""

import numpy as np

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.ml.sequence.data import PURCHASE, SequenceData

CUT = 450


def cycles(n_items: int, *, shift: int = 0) -> SequenceData:
    """60 visitors each buying 6 of items 0..9 in a cycle; `shift` renumbers the items (as a
    product replaced by another reorders the catalogue's indices)."""
    rng = np.random.default_rng(0)
    rows = []
    for visitor in range(60):
        start = int(rng.integers(0, 10))
        rows += [(visitor, (start + t + shift) % 10, t) for t in range(6)]
    visitor, item, time = (np.array(column) for column in zip(*rows, strict=True))
    kinds = np.full(len(item), PURCHASE)
    return SequenceData.from_arrays(visitor, item, kinds, time * 100, n_items)


def small(**overrides) -> SequenceConfig:
    values = dict(architecture="gru", dim=8, max_len=4, epochs=1, batch_size=32, dropout=0.0)
    return SequenceConfig(**{**values, "seed": 1, **overrides})
