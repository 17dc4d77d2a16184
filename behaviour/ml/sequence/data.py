"""Per-visitor event sequences, the time split and training windows (plain NumPy).

Events come in as parallel arrays (visitor key, item index, kind code, Unix seconds) in any
order; a `SequenceData` holds them grouped by visitor and ordered by time (ties keep their
input order, so the lines of one order stay as given). Kind codes are `KIND_CODES`; 0 is the
padding of windows and never an event.
"""

from dataclasses import dataclass

import numpy as np

# Event kind codes as the model reads them; the names are behaviour.models.Event.Kind values.
KIND_CODES = {"view": 1, "add_to_cart": 2, "purchase": 3, "click": 4}
N_KIND_CODES = 5  # 0 (padding) and the four kinds
PURCHASE = KIND_CODES["purchase"]


@dataclass(frozen=True)
class SequenceData:
    """Events grouped by visitor, each visitor's events in time order.

    items: (E,) int64 item index in [0, n_items); kinds: (E,) int8 kind code (KIND_CODES);
    times: (E,) int64 Unix seconds; visitors: (V,) int64 key of each sequence, ascending;
    starts, lengths: (V,) int64 first event and event count of each sequence (lengths >= 1).
    """

    items: np.ndarray
    kinds: np.ndarray
    times: np.ndarray
    visitors: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    n_items: int

    @classmethod
    def from_arrays(
        cls,
        visitor: np.ndarray,
        item: np.ndarray,
        kind: np.ndarray,
        occurred_at: np.ndarray,
        n_items: int,
    ) -> "SequenceData":
        """Group (E,) parallel event arrays by visitor in time order.

        visitor: integer visitor keys (e.g. row ids of hashed visitors); item: indices in
        [0, n_items); kind: KIND_CODES values (1..4); occurred_at: Unix seconds.
        Raises ValueError on mismatched lengths, items out of range or unknown kind codes.
        """
        visitor = np.asarray(visitor, dtype=np.int64)
        item = np.asarray(item, dtype=np.int64)
        kind = np.asarray(kind, dtype=np.int8)
        occurred_at = np.asarray(occurred_at, dtype=np.int64)
        if not len(visitor) == len(item) == len(kind) == len(occurred_at):
            raise ValueError("visitor, item, kind and occurred_at must have the same length")
        if len(item) and (item.min() < 0 or item.max() >= n_items):
            raise ValueError(f"item indices must lie in [0, {n_items})")
        if len(kind) and (kind.min() < 1 or kind.max() >= N_KIND_CODES):
            raise ValueError(f"kind codes must lie in [1, {N_KIND_CODES - 1}]")
        order = np.lexsort((np.arange(len(item)), occurred_at, visitor))  # stable in time
        visitor = visitor[order]
        new = np.ones(len(visitor), dtype=bool)
        new[1:] = visitor[1:] != visitor[:-1]
        starts = np.flatnonzero(new).astype(np.int64)
        lengths = np.diff(np.append(starts, len(visitor))).astype(np.int64)
        return cls(
            items=item[order],
            kinds=kind[order],
            times=occurred_at[order],
            visitors=visitor[starts],
            starts=starts,
            lengths=lengths,
            n_items=int(n_items),
        )

    @property
    def n_visitors(self) -> int:
        return len(self.visitors)

    @property
    def n_events(self) -> int:
        return len(self.items)

    def sequence(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Items, kinds and times of the index-th visitor's sequence (views, not copies)."""
        span = slice(self.starts[index], self.starts[index] + self.lengths[index])
        return self.items[span], self.kinds[span], self.times[span]

    def select(self, events: np.ndarray) -> "SequenceData":
        """The events where the (E,) bool mask is True, regrouped (visitors left empty drop)."""
        owner = np.repeat(self.visitors, self.lengths)
        return SequenceData.from_arrays(
            owner[events], self.items[events], self.kinds[events], self.times[events], self.n_items
        )


def time_split(data: SequenceData, valid_from_ts: int) -> tuple[SequenceData, SequenceData]:
    """(events before valid_from_ts, events at or after it): train on the past, validate later.

    No event at or after the cut reaches the first part, whatever the visitor.
    """
    before = data.times < valid_from_ts
    return data.select(before), data.select(~before)


def target_kinds(history: SequenceData, later: SequenceData) -> tuple[int, ...]:
    """The kinds of `later` events that validate: purchases, or every kind when no visitor of
    `history` purchased later (a shop of views only), so that such a shop is validated too."""
    buyers = np.repeat(later.visitors, later.lengths)[later.kinds == PURCHASE]
    if np.isin(buyers, history.visitors).any():
        return (PURCHASE,)
    return tuple(KIND_CODES.values())


def histories_and_targets(
    history: SequenceData, later: SequenceData, target_kinds: tuple[int, ...] = (PURCHASE,)
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """For visitors in both parts: their (items, kinds) history and the distinct items later.

    Only later events of target_kinds count as targets; visitors without any are left out.
    Returns parallel lists, ordered by visitor key.
    """
    shared, in_history, in_later = np.intersect1d(
        history.visitors, later.visitors, return_indices=True
    )
    inputs, targets = [], []
    for h, t in zip(in_history, in_later, strict=True):
        items, kinds, _ = later.sequence(t)
        wanted = np.unique(items[np.isin(kinds, target_kinds)])
        if len(wanted):
            past_items, past_kinds, _ = history.sequence(h)
            inputs.append((past_items, past_kinds))
            targets.append(wanted)
    return inputs, targets


def last_window(items: np.ndarray, kinds: np.ndarray, max_len: int) -> tuple[np.ndarray, ...]:
    """The latest max_len events of one history as (max_len,) items and kinds, left-padded."""
    items, kinds = np.asarray(items)[-max_len:], np.asarray(kinds)[-max_len:]
    pad = max_len - len(items)
    return (
        np.pad(items.astype(np.int64), (pad, 0)),
        np.pad(kinds.astype(np.int8), (pad, 0)),
    )
