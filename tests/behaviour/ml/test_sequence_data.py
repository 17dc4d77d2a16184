"""behaviour.ml.sequence.data: per-visitor sequences, the time split, training windows."""

import numpy as np
import pytest

from behaviour.ml.sequence.data import (
    PURCHASE,
    SequenceData,
    histories_and_targets,
    last_window,
    time_split,
)
from behaviour.ml.sequence.windows import future_items, training_windows, window_events

VIEW = 1


def events(rows: list[tuple[int, int, int, int]], n_items: int = 10) -> SequenceData:
    """SequenceData of (visitor, item, kind, time) rows."""
    visitor, item, kind, occurred_at = (np.array(column) for column in zip(*rows, strict=True))
    return SequenceData.from_arrays(visitor, item, kind, occurred_at, n_items)


def test_sequences_are_grouped_by_visitor_in_time_order_ties_as_given():
    data = events([(7, 1, 3, 50), (2, 4, 1, 30), (7, 2, 3, 10), (7, 3, 3, 50), (2, 5, 3, 20)])
    assert data.visitors.tolist() == [2, 7]
    assert data.sequence(0)[0].tolist() == [5, 4]
    assert data.sequence(1)[0].tolist() == [2, 1, 3]  # 1 and 3 share a time: input order
    assert data.sequence(1)[2].tolist() == [10, 50, 50]
    assert data.lengths.tolist() == [2, 3] and data.n_events == 5


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(1, 10, 3, 0)], "item indices"),
        ([(1, -1, 3, 0)], "item indices"),
        ([(1, 2, 0, 0)], "kind codes"),
        ([(1, 2, 5, 0)], "kind codes"),
    ],
)
def test_bad_events_are_refused_precisely(rows, message):
    with pytest.raises(ValueError, match=message):
        events(rows)


def test_time_split_never_leaks_a_later_event_into_training():
    rng = np.random.default_rng(3)
    visitor = rng.integers(0, 30, 500)
    times = rng.integers(0, 1000, 500)
    data = SequenceData.from_arrays(visitor, rng.integers(0, 10, 500), np.full(500, 3), times, 10)
    train, valid = time_split(data, 600)
    assert train.times.max() < 600 <= valid.times.min()
    assert train.n_events + valid.n_events == 500
    assert train.n_events == int((times < 600).sum())
    for part in (train, valid):  # each part is still grouped and ordered
        for index in range(part.n_visitors):
            assert np.all(np.diff(part.sequence(index)[2]) >= 0)


def test_histories_and_targets_take_later_purchases_of_visitors_seen_before():
    data = events(
        [(1, 0, 3, 1), (1, 1, 1, 2), (1, 2, 3, 10), (1, 2, 3, 11), (1, 3, 1, 12)]
        + [(2, 4, 3, 1), (2, 5, 1, 10)]  # visitor 2 only views later: no target
        + [(3, 6, 3, 10)]  # visitor 3 is new later: nothing to read
    )
    history, later = time_split(data, 10)
    inputs, targets = histories_and_targets(history, later)
    assert [t.tolist() for t in targets] == [[2]]
    assert inputs[0][0].tolist() == [0, 1] and inputs[0][1].tolist() == [PURCHASE, VIEW]


def test_training_windows_ask_each_event_for_the_next_item():
    data = events([(1, item, 3, item) for item in range(5)] + [(2, 9, 3, 0)])
    items, kinds, targets = training_windows(data, max_len=3)
    # 1: 0 1 2 3 4 -> windows [1 2 3]->[2 3 4] and [pad pad 0]->[pad pad 1]; 2: one event, none
    assert items.tolist() == [[1, 2, 3], [0, 0, 0]]
    assert targets.tolist() == [[2, 3, 4], [-1, -1, 1]]
    assert kinds.tolist() == [[3, 3, 3], [0, 0, 3]]


def test_future_items_stay_within_the_visitor():
    data = events([(1, 0, 3, 0), (1, 1, 3, 1), (1, 2, 3, 2), (2, 7, 3, 0), (2, 8, 3, 1)])
    future = future_items(data, window_events(data, max_len=4), horizon=2)
    assert future.tolist() == [
        [[-1, -1], [-1, -1], [1, 2], [2, -1]],
        [[-1, -1], [-1, -1], [-1, -1], [8, -1]],
    ]


def test_last_window_keeps_the_latest_events_left_padded():
    items, kinds = last_window(np.array([5, 6, 7]), np.array([1, 3, 3]), max_len=2)
    assert items.tolist() == [6, 7] and kinds.tolist() == [3, 3]
    items, kinds = last_window(np.array([5]), np.array([1]), max_len=3)
    assert items.tolist() == [0, 0, 5] and kinds.tolist() == [0, 0, 1]
