"""Training windows of the sequence model: which events each slot reads and must predict (NumPy).

A visitor's sequence is cut from its end into chunks of max_len + 1 events, left-padded; slot p
of a window reads the events up to p and is asked for a later event's item.
"""

import numpy as np

from .data import SequenceData


def training_windows(data: SequenceData, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Next-event training windows: (W, max_len) items, kinds and next items, left-padded.

    Each sequence is cut from its end into chunks of max_len + 1 events; window position p
    reads events up to p and is asked for the item of the event after it. Padding: item 0
    with kind 0 in the inputs and -1 in the targets (ignored by the loss). Sequences of one
    event give nothing to predict and no window.
    """
    events = window_events(data, max_len)
    items = np.where(events >= 0, data.items[np.maximum(events, 0)], 0)
    kinds = np.where(events >= 0, data.kinds[np.maximum(events, 0)], 0).astype(np.int8)
    return items, kinds, future_items(data, events, 1)[:, :, 0]


def window_events(data: SequenceData, max_len: int) -> np.ndarray:
    """(W, max_len) int64 index into data's events of each window slot, -1 for padding.

    The windows of `training_windows`: every event but a sequence's last is read once.
    """
    rows = []
    for start, length in zip(data.starts.tolist(), data.lengths.tolist(), strict=True):
        for end in range(length, 1, -max_len):  # end: one past the chunk's last target
            begin = max(0, end - max_len - 1)
            slots = np.arange(start + begin, start + end - 1)
            rows.append(np.pad(slots, (max_len - len(slots), 0), constant_values=-1))
    return np.stack(rows).astype(np.int64) if rows else np.zeros((0, max_len), dtype=np.int64)


def future_items(data: SequenceData, events: np.ndarray, horizon: int) -> np.ndarray:
    """(W, max_len, horizon) items 1..horizon events after each slot (same visitor), else -1."""
    ends = np.repeat(data.starts + data.lengths, data.lengths)  # one past each visitor's last
    later = events[:, :, None] + np.arange(1, horizon + 1)
    inside = (events[:, :, None] >= 0) & (later < ends[np.maximum(events, 0)][:, :, None])
    return np.where(inside, data.items[np.where(inside, later, 0)], -1)
