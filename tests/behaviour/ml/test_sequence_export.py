"""The NumPy serving path equals the Keras model; weights round-trip through .npz, no pickle."""

import numpy as np
import pytest

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.config import SequenceConfig
from behaviour.ml.sequence.serving import SequenceScorer

keras = pytest.importorskip("keras")
from behaviour.ml.sequence.model import SequenceRecommender, export_weights  # noqa: E402

TOLERANCE = 1e-4  # float32 sums in a different order; a wrong formula is off by far more
N_ITEMS, CONTENT_DIM = 12, 5


def random_model(config: SequenceConfig) -> SequenceRecommender:
    """A model whose every variable (biases, norms too) holds random values."""
    rng = np.random.default_rng(1)
    content = rng.normal(size=(N_ITEMS, CONTENT_DIM)).astype(np.float32)
    known = np.arange(N_ITEMS) < N_ITEMS - 2  # the last two items have no training events
    model = SequenceRecommender(config, N_ITEMS, content, known)
    model([np.zeros((1, config.max_len), dtype=np.int64)] * 2)
    for variable in model.trainable_variables:
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype(np.float32))
    return model


HISTORIES = [
    ([3, 1, 4, 1, 5, 9, 2], [3, 1, 3, 2, 3, 4, 3]),  # longer than max_len: the latest 6 count
    ([7], [1]),
    ([0, 11, 10], [3, 3, 2]),  # items without training events still have content vectors
]


@pytest.mark.parametrize("architecture", ["sasrec", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_numpy_scores_equal_keras_logits(architecture, layers):
    config = SequenceConfig(architecture=architecture, dim=8, max_len=6, layers=layers, heads=2)
    model = random_model(config)
    scorer = SequenceScorer(export_weights(model), config)
    for items, kinds in HISTORIES:
        window_items = np.zeros((1, 6), dtype=np.int64)
        window_kinds = np.zeros((1, 6), dtype=np.int64)
        tail = slice(6 - min(6, len(items)), 6)
        window_items[0, tail], window_kinds[0, tail] = items[-6:], kinds[-6:]
        logits = keras.ops.convert_to_numpy(model([window_items, window_kinds]))[0, -1]
        scores = scorer.score(np.array(items), np.array(kinds))
        np.testing.assert_allclose(scores, logits, atol=TOLERANCE, rtol=TOLERANCE)
        assert np.abs(logits).max() > 0.1  # a real signal was compared, not zeros


def test_item_vectors_give_cold_items_their_content_projection():
    config = SequenceConfig(architecture="sasrec", dim=8, max_len=6)
    weights = export_weights(random_model(config))
    scorer = SequenceScorer(weights, config)
    own = scorer.item_vectors()
    projected = weights["content"] @ weights["content_kernel"]
    np.testing.assert_allclose(own[-2:], projected[-2:], atol=1e-6)  # no training events
    assert not np.allclose(own[:-2], projected[:-2])
    new_content = np.random.default_rng(2).normal(size=(3, CONTENT_DIM)).astype(np.float32)
    content = np.concatenate([weights["content"], new_content])  # three products newer than it
    vectors = scorer.item_vectors(content)
    assert vectors.shape == (N_ITEMS + 3, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[:N_ITEMS], own, atol=1e-6)
    np.testing.assert_allclose(vectors[N_ITEMS:], new_content @ weights["content_kernel"], 1e-5)
    known = np.ones(N_ITEMS + 3, dtype=bool)
    known[0] = False  # the caller may also drop an id part, e.g. for a re-listed product
    np.testing.assert_allclose(scorer.item_vectors(content, known)[0], projected[0], atol=1e-6)


def test_weights_round_trip_through_npz_without_pickle(tmp_path):
    config = SequenceConfig(architecture="gru", dim=8, max_len=6, seed=4)
    weights = export_weights(random_model(config))
    path = artifacts.save(tmp_path / "model.npz", weights, config)
    loaded, loaded_config = artifacts.load(path)
    assert loaded_config == config
    assert sorted(loaded) == sorted(weights)
    for name in weights:
        np.testing.assert_array_equal(loaded[name], weights[name])
    assert not (tmp_path / "model.npz.partial").exists()
    np.save(tmp_path / "other.npy", np.zeros(2))
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a prodsim sequence model"):
        artifacts.load(tmp_path / "other.npz")


def test_config_round_trips_and_refuses_unknown_fields():
    config = SequenceConfig(architecture="gru", dim=16, heads=4, use_content=False)
    assert SequenceConfig.from_dict(config.to_dict()) == config
    assert SequenceConfig.from_dict({"dim": 32}).dim == 32
    with pytest.raises(ValueError, match="unknown sequence config fields: \\['colour'\\]"):
        SequenceConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown architecture 'lstm'"):
        SequenceConfig(architecture="lstm")


def test_a_new_training_has_floors_that_a_stored_version_does_not_need():
    """A version trained before the floors (dim 2 was accepted) still loads and serves."""
    assert SequenceConfig.from_dict({"dim": 2, "heads": 2, "epochs": 0}).dim == 2
    for values, message in [
        ({"epochs": 0}, "epochs must be at least 1, not 0"),
        ({"batch_size": 0}, "batch_size must be at least 1, not 0"),
        ({"dim": 2}, "dim must be at least 4, not 2"),
    ]:
        with pytest.raises(ValueError, match=message):
            SequenceConfig.for_training(**values)
    assert SequenceConfig.for_training(dim=4) == SequenceConfig(dim=4)


def test_only_self_attention_needs_dim_a_multiple_of_heads():
    assert SequenceConfig.for_training(architecture="gru", dim=5).dim == 5  # a GRU has no heads
    with pytest.raises(ValueError, match="dim 5 is not a multiple of heads 2"):
        SequenceConfig(architecture="sasrec", dim=5)
