"""behaviour.ml.sequence.devices: mixed precision on a GPU, scoped to building the model."""

import numpy as np
import pytest

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.ml.sequence.data import PURCHASE, SequenceData, time_split

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from behaviour.ml.sequence.devices import training_device  # noqa: E402
from behaviour.ml.sequence.train import train_sequence_model  # noqa: E402

N_ITEMS = 12


@pytest.fixture
def one_gpu(monkeypatch):
    """A worker that sees one GPU (TensorFlow still places the work on the CPU here)."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow backend's device check")
    real = tf.config.list_physical_devices
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: ["/physical_device:GPU:0"] if kind == "GPU" else real(kind),
    )
    yield
    keras.mixed_precision.set_global_policy("float32")  # whatever a failing test left behind


def test_the_gpu_scope_sets_mixed_precision_and_puts_the_policy_back(one_gpu):
    device, scope = training_device()

    with pytest.raises(RuntimeError, match="building failed"), scope:
        inside = keras.mixed_precision.global_policy().name
        raise RuntimeError("building failed")

    assert inside == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "float32"
    assert device == "tensorflow GPU"


def test_training_on_the_gpu_path_leaves_the_next_model_in_float32(one_gpu):
    # given 30 visitors who each buy items s, s+1, ... s+4
    visitor = np.repeat(np.arange(30), 5)
    item = (np.repeat(np.arange(30) % (N_ITEMS - 1), 5) + np.tile(np.arange(5), 30)) % N_ITEMS
    time = np.tile(np.arange(5), 30) * 100
    data = SequenceData.from_arrays(visitor, item, np.full(150, PURCHASE), time, N_ITEMS)
    train, valid = time_split(data, 350)
    config = SequenceConfig(dim=8, max_len=4, epochs=1, batch_size=16, k=1, seed=3)

    result = train_sequence_model(train, valid, None, config)

    # then it trained under the GPU setup, and a model built afterwards computes in float32
    assert result.device == "tensorflow GPU"
    assert result.epochs_run == 1 and np.isfinite(result.history[0]["loss"])
    assert keras.mixed_precision.global_policy().name == "float32"
    assert keras.layers.Dense(2).dtype_policy.name == "float32"
