"""A retry resumes from its checkpoint only on the data the checkpoint was written on: the job
re-reads the catalogue and the events, which may have changed since its first attempt."""

import numpy as np
import pytest

from behaviour.ml.sequence.data import time_split

pytest.importorskip("keras")
from behaviour.ml.sequence.train import train_sequence_model  # noqa: E402

from .factories import CUT, cycles, small  # noqa: E402


def test_a_retry_after_a_product_was_added_starts_afresh(tmp_path):
    train, valid = time_split(cycles(10), CUT)
    train_sequence_model(train, valid, None, small(epochs=1), checkpoint_dir=tmp_path)
    train, valid = time_split(cycles(11), CUT)

    result = train_sequence_model(train, valid, None, small(epochs=2), checkpoint_dir=tmp_path)

    assert result.weights["item_embedding"].shape[0] == 11
    assert result.epochs_run == 2


def test_a_retry_on_renumbered_items_does_not_resume(tmp_path):
    train, valid = time_split(cycles(10), CUT)
    first = train_sequence_model(train, valid, None, small(epochs=1), checkpoint_dir=tmp_path)
    train, valid = time_split(cycles(10, shift=3), CUT)

    result = train_sequence_model(train, valid, None, small(epochs=2), checkpoint_dir=tmp_path)

    assert result.history[0] != first.history[0]  # its own first epoch, not the checkpoint's


def test_a_retry_with_other_content_uses_the_content_it_was_given(tmp_path):
    train, valid = time_split(cycles(10), CUT)
    old = np.eye(10, 4, dtype=np.float32)
    new = np.roll(old, 1, axis=0)
    train_sequence_model(train, valid, old, small(use_content=True), checkpoint_dir=tmp_path)

    result = train_sequence_model(
        train, valid, new, small(use_content=True, epochs=2), checkpoint_dir=tmp_path
    )

    np.testing.assert_array_equal(result.weights["content"], new)


def test_a_retry_on_the_same_data_still_resumes(tmp_path):
    train, valid = time_split(cycles(10), CUT)
    first = train_sequence_model(train, valid, None, small(epochs=1), checkpoint_dir=tmp_path)

    result = train_sequence_model(train, valid, None, small(epochs=2), checkpoint_dir=tmp_path)

    assert result.history[0] == first.history[0]  # restored, not run again


class Crash(Exception):
    """The worker dying after an epoch's checkpoint was written."""


def crash_after(epoch_no: int):
    def on_epoch(epoch, metrics):
        if epoch == epoch_no:
            raise Crash()

    return on_epoch


@pytest.mark.parametrize("crashed_after", [2, 3])
def test_a_resumed_run_stops_early_where_the_uninterrupted_one_does(tmp_path, crashed_after):
    # 10 items and k=20: every epoch's Recall@20 is 1.0, so epoch 1 stays the best and, with
    # patience 2, the run stops after epoch 3 (a crash after 3 leaves nothing more to run).
    train, valid = time_split(cycles(10), CUT)
    config = small(epochs=10, patience=2)
    straight = train_sequence_model(train, valid, None, config, checkpoint_dir=tmp_path / "a")
    with pytest.raises(Crash):
        train_sequence_model(
            train,
            valid,
            None,
            config,
            checkpoint_dir=tmp_path / "b",
            on_epoch=crash_after(crashed_after),
        )

    resumed = train_sequence_model(train, valid, None, config, checkpoint_dir=tmp_path / "b")

    assert [e["epoch"] for e in straight.history] == [1, 2, 3]
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert (resumed.stopped, resumed.best_epoch) == ("early", 1)
    assert [e["loss"] for e in resumed.history] == [e["loss"] for e in straight.history]


def test_a_worker_killed_between_a_checkpoints_files_resumes_from_the_epoch_before(
    tmp_path, monkeypatch
):
    """The variables file of epoch 2 was in place, the state still said epoch 1: the resumed
    run trained epoch 2 again on epoch 2's weights, every loss after under the wrong epoch."""
    from behaviour.ml.sequence import checkpoints

    train, valid = time_split(cycles(10), CUT)
    config = small(epochs=4, patience=10)
    straight = train_sequence_model(train, valid, None, config, checkpoint_dir=tmp_path / "a")
    real_save, calls = checkpoints.artifacts.save, []

    def killed_on_the_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # epoch 2's variables written, its best weights and state not yet
            raise Crash()
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoints.artifacts, "save", killed_on_the_second_epoch)
    with pytest.raises(Crash):
        train_sequence_model(train, valid, None, config, checkpoint_dir=tmp_path / "b")
    monkeypatch.setattr(checkpoints.artifacts, "save", real_save)

    resumed = train_sequence_model(train, valid, None, config, checkpoint_dir=tmp_path / "b")

    assert [e["loss"] for e in resumed.history] == [e["loss"] for e in straight.history]
    assert sorted(path.name for path in (tmp_path / "b").glob("*.npz")) == [
        "best-e1.npz",
        "checkpoint-e4.npz",
    ]


MIRRORED_RESUME = """
import sys, tempfile
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {root!r})
from tests.behaviour.ml.factories import CUT, cycles, small
from behaviour.ml.sequence import train as train_module
from behaviour.ml.sequence.data import time_split
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
train_module.training_device = lambda: ("MirroredStrategy(2 CPU)", strategy.scope())
train, valid = time_split(cycles(10), CUT)
folder = tempfile.mkdtemp()
fit = train_module.train_sequence_model
first = fit(train, valid, None, small(epochs=1), checkpoint_dir=folder)
again = fit(train, valid, None, small(epochs=2), checkpoint_dir=folder)
assert again.history[0] == first.history[0] and again.epochs_run == 2, again.history
print("resumed")
"""


def test_a_retry_on_a_multi_gpu_worker_resumes_under_its_strategy():
    """The resume restored the optimizer outside the MirroredStrategy's scope, which refuses
    variables made outside it: every retry on a multi-GPU worker failed its job. Two logical
    CPUs mirror here as GPUs do (a process of its own: devices are set before TensorFlow starts)."""
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[3])
    script = MIRRORED_RESUME.format(root=root)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, cwd=root
    )

    assert done.returncode == 0 and "resumed" in done.stdout, done.stderr[-3000:]
