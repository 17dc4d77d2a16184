"""similarity.ml.training: SupCon loss, P×K batches, and train() on tiny generated images."""

import itertools
import json
import math
import shutil
from dataclasses import replace

import keras
import numpy as np
import pytest

from similarity.ml.backbones import Backbone, build_backbone, build_embedding_model
from similarity.ml.evaluation import retrieval_metrics
from similarity.ml.training import (
    TrainingCancelled,
    TrainingConfig,
    Validation,
    embed_arrays,
    loop,
    pk_batches,
    supervised_contrastive_loss,
    train,
)
from similarity.ml.training.phases import phases

# Keras' .weights.h5 writer converts each variable with np.array(x), which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SIZE = 32
# Measured over training seeds 1..5 and 1234: 3 epochs of 10 steps reach held-out R@1 0.94-1.0
# on the toy set, while the same models at initialisation score 0.41-0.66.
TOY_CONFIG = TrainingConfig(
    backbone="small_cnn",
    weights="none",
    input_size=SIZE,
    embedding_dim=16,
    epochs=3,
    labels_per_batch=4,
    images_per_label=4,
    steps_per_epoch=10,
    patience=3,
    augmentation="basic",  # the figures above were measured with it; "phone" runs in TINY_CONFIG
)
# The smallest run that exercises every path: 2 steps of 2 labels × 2 images per epoch.
TINY_CONFIG = TrainingConfig(
    backbone="small_cnn",
    weights="none",
    input_size=SIZE,
    embedding_dim=8,
    epochs=2,
    labels_per_batch=2,
    images_per_label=2,
    steps_per_epoch=2,
    augmentation="phone",  # the default ("basic") runs in TOY_CONFIG
)
SQUARE_COLOURS = [(200, 30, 30), (30, 170, 30), (30, 30, 200), (210, 200, 20)]


def toy_set(per_label: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images of a 6-px square whose colour is the label, on a random grey background.

    The square sits at a random spot; the grey covers 96% of the image, so a random CNN ranks
    mostly by background and only a trained one by the square.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((len(SQUARE_COLOURS) * per_label, SIZE, SIZE, 3), np.uint8)
    labels = np.repeat(np.arange(len(SQUARE_COLOURS)), per_label)
    for image, label in zip(images, labels, strict=True):
        image[:] = rng.integers(40, 256)
        x, y = rng.integers(2, SIZE - 8, 2)
        image[y : y + 6, x : x + 6] = SQUARE_COLOURS[label]
    return images, labels


def noise_set() -> tuple[np.ndarray, np.ndarray]:
    """16 random uint8 images in 4 labels: enough to run train(), nothing to learn."""
    images = np.random.default_rng(0).integers(0, 256, (16, SIZE, SIZE, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(4), 4)


def run(config, checkpoint_dir, **callbacks):
    images, labels = noise_set()
    return train(
        config,
        images=images,
        labels=labels,
        validation=Validation(images, labels),
        checkpoint_dir=checkpoint_dir,
        **callbacks,
    )


def loss_of(vectors, labels, temperature=0.5) -> float:
    loss = supervised_contrastive_loss(temperature)
    return float(loss(np.array(labels), np.array(vectors, dtype=np.float32)))


def test_supcon_loss_matches_a_hand_computation_for_separated_classes():
    # Two labels × two vectors, each class on its own axis, temperature 0.5. Every anchor sees
    # its partner at cosine 1 (logit 1 / 0.5 = 2) and the other class at cosine 0 (logit 0):
    # loss = -log(e^2 / (e^2 + e^0 + e^0)) = log(1 + 2e^-2) = log(1.270671) = 0.239545,
    # the same for all four anchors, so also their mean.
    loss = loss_of([[1, 0], [1, 0], [0, 1], [0, 1]], [0, 0, 1, 1])

    assert loss == pytest.approx(math.log(1 + 2 * math.exp(-2)), rel=1e-6)
    assert loss == pytest.approx(0.239545, abs=1e-6)


def test_supcon_loss_is_higher_when_the_classes_are_mixed():
    # Same vectors, labels crossed: each anchor's partner is at logit 0 and an image of the
    # other class at logit 2: loss = -log(e^0 / (e^0 + e^2 + e^0)) = log(2 + e^2) = 2.239545.
    separated = loss_of([[1, 0], [1, 0], [0, 1], [0, 1]], [0, 0, 1, 1])
    mixed = loss_of([[1, 0], [0, 1], [1, 0], [0, 1]], [0, 0, 1, 1])

    assert mixed == pytest.approx(math.log(2 + math.exp(2)), rel=1e-6)
    assert mixed > separated


def test_supcon_loss_leaves_out_anchors_without_a_positive():
    # The lone label-1 vector has no partner; the two label-0 anchors each see their partner at
    # logit 2 and the lone vector at 0: loss = log(1 + e^-2) = 0.126928 (mean of two anchors).
    loss = loss_of([[1, 0], [1, 0], [0, 1]], [0, 0, 1])

    assert loss == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


def test_pk_batches_hold_p_labels_of_k_indices_each():
    # given labels with 5, 4, 2 and 1 images
    labels = np.array([0] * 5 + [1] * 4 + [2] * 2 + [3])
    members = {0: {0, 1, 2, 3, 4}, 1: {5, 6, 7, 8}, 2: {9, 10}, 3: {11}}

    batches = pk_batches(labels, labels_per_batch=3, images_per_label=4, seed=7)

    seen = set()
    for batch in itertools.islice(batches, 100):
        assert batch.shape == (12,)
        groups = batch.reshape(3, 4).tolist()
        group_labels = [int(labels[group[0]]) for group in groups]
        assert len(set(group_labels)) == 3  # P distinct labels ...
        for label, group in zip(group_labels, groups, strict=True):
            assert set(group) <= members[label]  # ... of K images each
            if len(members[label]) >= 4:
                assert len(set(group)) == 4  # no repeats where there are K images
            if label == 3:
                assert group == [11, 11, 11, 11]  # a lone image fills its K slots
        seen.update(group_labels)
    assert seen == {0, 1, 2, 3}


def test_pk_batches_are_deterministic_for_a_seed():
    labels = np.repeat(np.arange(6), 3)

    def first(seed):
        batches = pk_batches(labels, labels_per_batch=4, images_per_label=2, seed=seed)
        return [batch.tolist() for batch in itertools.islice(batches, 5)]

    assert first(3) == first(3)
    assert first(3) != first(4)


def test_pk_batches_use_every_label_when_there_are_fewer_than_p():
    labels = np.repeat(np.arange(2), 3)

    batch = next(pk_batches(labels, labels_per_batch=8, images_per_label=2, seed=0))

    assert batch.shape == (4,)
    assert sorted(set(labels[batch].tolist())) == [0, 1]


def test_training_learns_what_distinguishes_the_toy_labels(tmp_path):
    # given 4 labels (the colour of a small square) and held-out images of the same kind
    images, labels = toy_set(16, seed=0)
    val_images, val_labels = toy_set(8, seed=1)
    test_images, test_labels = toy_set(8, seed=2)

    def recall_at_1(model):
        vectors = embed_arrays(model, test_images)
        return retrieval_metrics(
            vectors, test_labels, vectors, test_labels, exclude_self=True
        ).recall_at_1

    keras.utils.set_random_seed(TOY_CONFIG.seed)
    untrained = build_embedding_model(
        build_backbone("small_cnn", input_size=SIZE, weights="none"),
        embedding_dim=TOY_CONFIG.embedding_dim,
    )

    # when a model of the same configuration is trained
    result = train(
        TOY_CONFIG,
        images=images,
        labels=labels,
        validation=Validation(val_images, val_labels),
        checkpoint_dir=tmp_path,
    )

    # then the loss fell and held-out retrieval beats the untrained model by a wide margin
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3]
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert recall_at_1(result.model) >= recall_at_1(untrained) + 0.2
    assert result.weights_used == "none (small CNN, trained from scratch)"
    assert result.best_val_recall_at_1 == max(e["val_recall_at_1"] for e in result.history)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """TINY_CONFIG trained to its end: (result, progress reports, checkpoint directory)."""
    checkpoint_dir = tmp_path_factory.mktemp("finished")
    reports = []
    result = run(TINY_CONFIG, checkpoint_dir, progress=reports.append)
    return result, reports, checkpoint_dir


def test_a_finished_run_rerun_trains_nothing_and_given_more_epochs_only_the_new_ones(
    finished_run, tmp_path
):
    # given a run that finished its 2 epochs
    first, first_reports, finished_dir = finished_run
    checkpoint_dir = shutil.copytree(finished_dir, tmp_path / "checkpoints")
    assert [entry["epoch"] for entry in first_reports] == [1, 2]

    # when it runs again unchanged, and then with 3 epochs
    unchanged_reports, extended_reports = [], []
    unchanged = run(TINY_CONFIG, checkpoint_dir, progress=unchanged_reports.append)
    extended = run(replace(TINY_CONFIG, epochs=3), checkpoint_dir, progress=extended_reports.append)

    # then the unchanged run trains nothing, and the extended one trains epoch 3 only
    assert unchanged_reports == []
    assert unchanged.history == first.history
    assert [entry["epoch"] for entry in extended_reports] == [3]
    assert [entry["epoch"] for entry in extended.history] == [1, 2, 3]
    assert extended.history[:2] == first.history
    assert set(extended_reports[0]) == {
        "epoch",
        "epochs",
        "loss",
        "val_recall_at_1",
        "images_per_s",
        "eta_s",
    }
    assert extended_reports[0]["epochs"] == 3
    assert json.loads((checkpoint_dir / "phase0.json").read_text()) == {
        "end_epoch": 3,
        "stopped_early": False,
    }


def test_the_same_seed_gives_the_same_losses_and_vectors(finished_run, tmp_path):
    first = finished_run[0]

    again = run(TINY_CONFIG, tmp_path)

    assert [e["loss"] for e in again.history] == pytest.approx(
        [e["loss"] for e in first.history], rel=1e-5
    )
    # Not vacuous: embeddings that collapsed to one point would give log(3) for any seed.
    assert first.history[0]["loss"] != pytest.approx(math.log(3), rel=1e-3)
    images = noise_set()[0]
    np.testing.assert_allclose(
        embed_arrays(again.model, images), embed_arrays(first.model, images), atol=1e-5
    )


class Killed(Exception):
    """Stands in for the worker process dying after an epoch."""


def test_a_job_killed_during_warm_up_resumes_each_phase_at_its_next_epoch(tmp_path, monkeypatch):
    # given a "pretrained" backbone (the small CNN posing as one, for speed), so training warms
    # up the head for 2 epochs and then fine-tunes for 1, and a job killed after epoch 1
    build = loop.build_backbone

    def pretrained_backbone(name, *, input_size, weights):
        built = build(name, input_size=input_size, weights=weights)
        return Backbone(built.model, "file pretend.weights.h5", pretrained=True)

    monkeypatch.setattr(loop, "build_backbone", pretrained_backbone)
    config = replace(TINY_CONFIG, epochs=3, warmup_epochs=2)

    def die_after_epoch_1(entry):
        if entry["epoch"] == 1:
            raise Killed()

    with pytest.raises(Killed):
        run(config, tmp_path, progress=die_after_epoch_1)

    # when the job runs again
    reports = []
    result = run(config, tmp_path, progress=reports.append)

    # then warm-up resumes at epoch 2 and fine-tuning runs epoch 3, each exactly once
    assert [entry["epoch"] for entry in reports] == [2, 3]
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3]
    assert result.weights_used == "file pretend.weights.h5"


def test_cancelling_stops_after_the_current_batch_and_records_nothing(tmp_path):
    asked, reports = [], []

    def should_cancel():
        asked.append(True)
        return True

    with pytest.raises(TrainingCancelled):
        run(
            replace(TINY_CONFIG, steps_per_epoch=3),
            tmp_path,
            progress=reports.append,
            should_cancel=should_cancel,
        )

    assert len(asked) == 1
    assert reports == []
    assert not (tmp_path / "history.json").exists()
    assert not (tmp_path / "phase0.json").exists()


def test_the_cosine_schedule_decays_the_last_phase_from_its_rate_to_zero():
    cosine = replace(TINY_CONFIG, learning_rate_schedule="cosine", epochs=3, warmup_epochs=1)

    (warmup, finetune) = phases(cosine, pretrained=True, steps_per_epoch=50)
    (alone,) = phases(cosine, pretrained=False, steps_per_epoch=50)

    assert warmup == (0, 1, 0.0, cosine.learning_rate)  # the head's warm-up keeps its rate
    first, end, fraction, decayed = finetune
    assert (first, end, fraction) == (1, 3, cosine.finetune_fraction)
    assert [float(decayed(step)) for step in (0, 50, 100, 150)] == pytest.approx(
        [1e-4, 5e-5, 0.0, 0.0], abs=1e-9
    )
    assert float(alone[3](75)) == pytest.approx(cosine.learning_rate / 2)  # 75 of 150 steps
    assert phases(TINY_CONFIG, pretrained=True, steps_per_epoch=50)[-1][3] == 1e-4
    with pytest.raises(ValueError, match="unknown learning_rate_schedule 'step'"):
        phases(replace(TINY_CONFIG, learning_rate_schedule="step"), True, steps_per_epoch=1)


def test_a_run_under_the_cosine_schedule_trains_and_moves_the_vectors(finished_run, tmp_path):
    constant = finished_run[0]

    cosine = run(replace(TINY_CONFIG, learning_rate_schedule="cosine"), tmp_path)

    assert [entry["epoch"] for entry in cosine.history] == [1, 2]
    # Same seed and data, and the same rate at the first step: epoch 1's two steps match, and
    # from the second update on the decayed rate makes epoch 2 differ.
    assert cosine.history[0]["loss"] == pytest.approx(constant.history[0]["loss"], rel=1e-5)
    assert cosine.history[1]["loss"] != pytest.approx(constant.history[1]["loss"], rel=1e-5)


def test_a_small_catalogues_epoch_repeats_its_photos_up_to_the_floor():
    from similarity.ml.training.loop import epoch_steps

    default = TrainingConfig()  # 32 photos per batch, at least 800 per epoch

    assert epoch_steps(default, 31) == 25  # 31 studio photos: 25 batches, not one
    assert epoch_steps(default, 864) == 27  # a catalogue past the floor: one pass, as before
    assert epoch_steps(replace(default, min_epoch_images=0), 31) == 1
    assert epoch_steps(replace(default, steps_per_epoch=7), 31) == 7
