"""behaviour.ml.sequence.train: tiny models on tiny histories learn, stop, cancel and resume."""

import time

import numpy as np
import pytest

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.ml.sequence.data import PURCHASE, SequenceData, histories_and_targets, time_split
from behaviour.ml.sequence.metrics import recall_at_k, top_k
from behaviour.ml.sequence.serving import SequenceScorer

pytest.importorskip("keras")
from behaviour.ml.sequence.train import train_sequence_model  # noqa: E402

N_ITEMS, STEPS = 20, 8


def planted(visitors: int = 240, seed: int = 0) -> SequenceData:
    """Each visitor buys item s, s+1, s+2, ... (mod N_ITEMS) from a random s; item 0 is the most
    popular (every visitor buys it first), so popularity alone cannot predict the next one."""
    rng = np.random.default_rng(seed)
    rows = []
    for visitor in range(visitors):
        rows.append((visitor, 0, 0))
        start = rng.integers(1, N_ITEMS)
        rows += [(visitor, (start + t) % N_ITEMS, t + 1) for t in range(STEPS)]
    visitor, item, time = (np.array(column) for column in zip(*rows, strict=True))
    kinds = np.full(len(item), PURCHASE)
    return SequenceData.from_arrays(visitor, item, kinds, time * 100, N_ITEMS)


def small(**overrides) -> SequenceConfig:
    values = dict(dim=16, max_len=8, epochs=12, batch_size=32, learning_rate=0.01, dropout=0.0)
    values.update(k=1, patience=2, seed=3)
    return SequenceConfig(**{**values, **overrides})


@pytest.mark.parametrize(("architecture", "negatives"), [("sasrec", 0), ("gru", 0), ("sasrec", 5)])
def test_a_planted_sequence_is_learned_far_better_than_popularity(architecture, negatives):
    train, valid = time_split(planted(), 750)  # the last step of each visitor is validation
    result = train_sequence_model(
        train, valid, None, small(architecture=architecture, negatives=negatives)
    )
    histories, targets = histories_and_targets(train, valid)
    scorer = SequenceScorer(result.weights, small(architecture=architecture))
    scores = np.stack([scorer.score(items, kinds) for items, kinds in histories])
    model_recall = recall_at_k(top_k(scores, 1), targets).mean()
    popular = np.bincount(train.items, minlength=N_ITEMS).astype(float)
    popular_recall = recall_at_k(top_k(np.tile(popular, (len(targets), 1)), 1), targets).mean()
    assert popular_recall < 0.1
    assert model_recall >= 0.8 and result.best_recall >= 0.8
    assert result.best_recall == max(epoch["recall"] for epoch in result.history)
    assert model_recall == pytest.approx(result.best_recall)  # served = validated weights


def test_training_stops_early_and_reports_each_epoch():
    train, valid = time_split(planted(80), 750)
    seen = []
    result = train_sequence_model(
        train, valid, None, small(epochs=40, patience=1), on_epoch=lambda e, m: seen.append(e)
    )
    assert result.stopped == "early" and result.epochs_run < 40
    assert seen == list(range(1, result.epochs_run + 1))
    assert result.epochs_run == result.best_epoch + 1
    assert set(result.history[0]) == {"epoch", "loss", "recall", "ndcg", "seconds"}


def test_cancel_returns_at_once_with_the_best_weights_so_far():
    train, valid = time_split(planted(80), 750)
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 4  # during the second epoch (3 batches per epoch)

    result = train_sequence_model(train, valid, None, small(), should_stop=should_stop)
    assert result.stopped == "cancelled" and result.epochs_run == 1
    assert result.best_epoch == 1 and "item_embedding" in result.weights


def test_no_epoch_starts_that_would_end_past_the_deadline():
    train, valid = time_split(planted(80), 750)

    late = train_sequence_model(train, valid, None, small(), deadline=time.monotonic())
    in_time = time.monotonic() + 3600
    early = train_sequence_model(train, valid, None, small(epochs=3, patience=5), deadline=in_time)

    assert (late.stopped, late.epochs_run, late.best_epoch) == ("time", 1, 1)
    assert "item_embedding" in late.weights
    assert (early.stopped, early.epochs_run) == ("epochs", 3)


def test_training_resumes_from_its_checkpoint(tmp_path):
    train, valid = time_split(planted(80), 750)
    first = train_sequence_model(train, valid, None, small(epochs=2), checkpoint_dir=tmp_path)
    more = train_sequence_model(train, valid, None, small(epochs=4), checkpoint_dir=tmp_path)
    assert first.epochs_run == 2 and more.epochs_run == 4
    assert more.history[:2] == first.history  # epochs 1-2 were not run again
    again = train_sequence_model(train, valid, None, small(epochs=4), checkpoint_dir=tmp_path)
    assert again.history == more.history  # nothing left to run
    for name, value in more.weights.items():
        np.testing.assert_array_equal(again.weights[name], value)
    other = train_sequence_model(
        train, valid, None, small(epochs=1, dim=8), checkpoint_dir=tmp_path
    )
    assert other.epochs_run == 1  # another model: a fresh run, not a resume


def test_a_cold_item_is_placed_by_its_content():
    """Item 19 is never bought in training; its content equals item 18's, so it lands there."""
    data = planted()
    keep = (data.items != N_ITEMS - 1) | (data.times >= 750)
    train, valid = time_split(data.select(keep), 750)
    content = np.eye(N_ITEMS, dtype=np.float32)
    content[N_ITEMS - 1] = content[N_ITEMS - 2]
    config = small(use_content=True)
    result = train_sequence_model(train, valid, content, config)
    scorer = SequenceScorer(result.weights, config)
    assert result.weights["item_known"][N_ITEMS - 1] == 0
    vectors = scorer.item_vectors()
    assert np.abs(vectors[N_ITEMS - 1]).sum() > 0
    cosine = vectors @ vectors[N_ITEMS - 1] / np.linalg.norm(vectors, axis=1)
    assert int(np.argmax(cosine[: N_ITEMS - 1])) == N_ITEMS - 2


@pytest.mark.parametrize("architecture", ["sasrec", "gru"])
def test_both_models_train_under_mixed_precision_as_on_a_gpu(architecture):
    import keras

    train, valid = time_split(planted(40), 750)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        result = train_sequence_model(
            train, valid, None, small(architecture=architecture, epochs=2, patience=5)
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert result.epochs_run == 2 and np.isfinite(result.history[-1]["loss"])
    assert all(w.dtype == np.float32 for w in result.weights.values())


def test_histories_too_short_to_learn_from_are_refused_precisely():
    one_event_each = SequenceData.from_arrays([1, 2], [0, 1], [3, 3], [0, 0], N_ITEMS)
    with pytest.raises(ValueError, match="nothing to learn from"):
        train_sequence_model(one_event_each, one_event_each, None, small())
