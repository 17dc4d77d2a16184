"""A killed training job resumes with its early-stopping state: the same epochs, the same
best weights as the run that was never interrupted."""

import json

import numpy as np
import pytest

from similarity.ml.training import TrainingConfig, Validation, embed_arrays, train

# Keras' .weights.h5 writer converts each variable with np.array(x), which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32
CONFIG = TrainingConfig(
    backbone="small_cnn",
    weights="none",
    input_size=SIZE,
    embedding_dim=8,
    epochs=8,
    labels_per_batch=2,
    images_per_label=2,
    steps_per_epoch=2,
    patience=2,
)


class Killed(Exception):
    """Stands in for the worker process dying after an epoch's backup."""


def noise_set() -> tuple[np.ndarray, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 256, (16, SIZE, SIZE, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(4), 4)


def run(checkpoint_dir, **callbacks):
    images, labels = noise_set()
    # One label in the validation: every epoch's Recall@1 is 1.0, so epoch 1 stays the best
    # and patience 2 stops the run after epoch 3.
    check = Validation(images[:4], np.zeros(4, int), images[4:8], np.zeros(4, int))
    return train(
        CONFIG,
        images=images,
        labels=labels,
        validation=check,
        checkpoint_dir=checkpoint_dir,
        **callbacks,
    )


def killed_after_epoch(number):
    def report(entry):
        if entry["epoch"] == number:
            raise Killed()

    return report


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run nobody interrupted: (result, its checkpoint folder)."""
    folder = tmp_path_factory.mktemp("straight")
    return run(folder), folder


def test_a_run_killed_before_it_stopped_resumes_with_its_best_and_its_wait(straight, tmp_path):
    uninterrupted, folder = straight
    assert [e["epoch"] for e in uninterrupted.history] == [1, 2, 3]
    with pytest.raises(Killed):
        run(tmp_path, progress=killed_after_epoch(2))

    reports = []
    resumed = run(tmp_path, progress=reports.append)

    # epoch 3 alone runs: it is the second without improvement, as it was uninterrupted
    assert [e["epoch"] for e in reports] == [3]
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert json.loads((tmp_path / "phase0.json").read_text())["stopped_early"] is True
    # and the weights are epoch 1's, the best, from before the crash
    images = noise_set()[0]
    np.testing.assert_allclose(
        embed_arrays(resumed.model, images), embed_arrays(uninterrupted.model, images), atol=1e-5
    )
    assert resumed.best_val_recall_at_1 == uninterrupted.best_val_recall_at_1 == 1.0
    # the state of the last epochs is kept, and the best weights only once
    assert sorted(json.loads((folder / "early_stopping0.json").read_text())) == ["1", "2", "3"]
    assert [p.name for p in folder.glob("early_stopping0.*.npz")] == ["early_stopping0.best1.npz"]


def test_a_run_killed_after_early_stopping_ended_it_trains_no_further(straight, tmp_path):
    uninterrupted = straight[0]
    with pytest.raises(Killed):  # after epoch 3's backup, before the phase was marked done
        run(tmp_path, progress=killed_after_epoch(3))

    reports = []
    resumed = run(tmp_path, progress=reports.append)

    assert reports == []
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert json.loads((tmp_path / "phase0.json").read_text()) == {
        "end_epoch": CONFIG.epochs,
        "stopped_early": True,
    }
    images = noise_set()[0]
    np.testing.assert_allclose(
        embed_arrays(resumed.model, images), embed_arrays(uninterrupted.model, images), atol=1e-5
    )
