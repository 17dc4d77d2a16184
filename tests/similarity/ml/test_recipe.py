"""The phone-photo recipe's parts on tiny tensors: augmentation, the three losses, flip TTA,
the refit's epochs."""

import numpy as np
import pytest

from similarity.ml.training import (
    AUGMENTATIONS,
    augmentation,
    multi_similarity_loss,
    proxy_anchor_loss,
)
from similarity.ml.training.augment import ERROR_UNKNOWN_AUGMENTATION
from similarity.ml.training.losses import ERROR_UNKNOWN_LOSS, ProxySimilarities, loss_for
from similarity.ml.training.refit import MIN_VALIDATION_QUERIES, refit_epochs
from similarity.ml.tta import flip_averaged

SEPARATED = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
MIXED = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float32)
LABELS = np.array([0, 0, 1, 1])


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_augmentation_keeps_shape_and_pixel_range(kind):
    images = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3)).astype(np.float32)
    out = np.asarray(augmentation(7, kind)(images, training=True))
    assert out.shape == (4, 48, 48, 3)
    assert out.min() >= 0.0 and out.max() <= 255.0 + 1e-3
    assert not np.allclose(out, images)  # it did change the pictures


def test_augmentation_is_off_at_inference():
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype(np.float32)
    assert np.allclose(np.asarray(augmentation(7)(images, training=False)), images)


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_augmentation_layers_draw_independently(kind):
    # Layers given one seed draw the same number per image: flip, zoom, brightness and contrast
    # would move together. Each layer's draws for 64 images must not follow the zoom's.
    images = np.zeros((64, 16, 16, 3), np.float32)
    draws = {}
    for layer in augmentation(1234, kind).layers:
        drawn = layer.get_random_transformation(images, training=True)
        name = type(layer).__name__
        key = {
            "RandomFlip": "flips",
            "RandomZoom": "height_zoom",
            "RandomBrightness": "rgb_delta",
            "RandomContrast": "contrast_factor",
        }.get(name)
        if key:
            draws[name] = np.asarray(drawn[key], dtype=float).reshape(len(images), -1)[:, 0]
    zoom = draws.pop("RandomZoom")
    correlations = {name: abs(np.corrcoef(zoom, values)[0, 1]) for name, values in draws.items()}
    assert len(correlations) == 3
    assert all(c < 0.5 for c in correlations.values()), correlations


def test_an_unknown_augmentation_is_refused_by_name():
    with pytest.raises(ValueError) as error:
        augmentation(1, "studio")
    assert str(error.value) == ERROR_UNKNOWN_AUGMENTATION.format(
        name="studio", choices="phone, basic"
    )


def test_multi_similarity_is_zero_when_every_pair_is_already_well_ranked():
    # Positives at cosine 1, negatives at 0: no pair is mined (0 - 0.1 is not > 1 + ...).
    assert float(multi_similarity_loss()(LABELS, SEPARATED)) == pytest.approx(0.0, abs=1e-6)


def test_multi_similarity_matches_a_hand_computation_when_labels_are_mixed():
    # Each anchor's positive is at cosine 0 and one negative at cosine 1: both are mined.
    # positive term: log(1 + e^{-2 (0 - 0.5)}) / 2; negative: log(1 + e^{50 (1 - 0.5)}) / 50.
    expected = np.log1p(np.exp(1.0)) / 2 + np.log1p(np.exp(25.0)) / 50
    assert float(multi_similarity_loss()(LABELS, MIXED)) == pytest.approx(expected, rel=1e-5)


def test_proxy_anchor_is_lower_when_vectors_sit_on_their_label_proxy():
    # The proxies' cosines are appended to the vectors, as ProxySimilarities does.
    on_proxy = np.concatenate([SEPARATED, SEPARATED], axis=1)  # cos 1 own, 0 other proxy
    off_proxy = np.concatenate([SEPARATED, 1 - SEPARATED], axis=1)  # cos 0 own, 1 other
    loss = proxy_anchor_loss(2)
    # On: positives at cos 1 add ~log(1 + 2 e^{-32 * 0.9}) ≈ 0; each proxy's two negatives at
    # cos 0 add log(1 + 2 e^{32 * 0.1}). Off: positives log(1 + 2 e^{3.2}), negatives at cos 1.
    on_expected = np.log1p(2 * np.exp(3.2))
    off_expected = np.log1p(2 * np.exp(3.2)) + np.log1p(2 * np.exp(32 * 1.1))
    assert float(loss(LABELS, on_proxy)) == pytest.approx(on_expected, rel=1e-4)
    assert float(loss(LABELS, off_proxy)) == pytest.approx(off_expected, rel=1e-4)


def test_proxy_similarities_appends_one_cosine_per_label():
    layer = ProxySimilarities(3)
    out = np.asarray(layer(SEPARATED))
    assert out.shape == (4, 5)
    assert np.allclose(out[:, :2], SEPARATED)
    assert np.abs(out[:, 2:]).max() <= 1.0 + 1e-6


def test_an_unknown_loss_is_refused_by_name():
    with pytest.raises(ValueError) as error:
        loss_for("triplet", temperature=0.1, labels_count=2)
    assert str(error.value) == ERROR_UNKNOWN_LOSS.format(
        name="triplet", choices="supcon, multi_similarity, proxy_anchor"
    )


def test_flip_averaging_means_the_photo_and_its_mirror():
    # A toy embedder: the mean colour of the left half and of the right half of the red channel.
    def embed(images):
        half = images.shape[2] // 2
        red = images[..., 0].astype(np.float32)
        return np.stack([red[:, :, :half].mean((1, 2)), red[:, :, half:].mean((1, 2))], axis=1)

    image = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    image[0, :, :2, 0] = 200  # red on the left: (200, 0); mirrored (0, 200)
    vectors = flip_averaged(embed, image)
    assert np.allclose(vectors, [[np.sqrt(0.5), np.sqrt(0.5)]], atol=1e-6)
    assert image[0, 0, 0, 0] == 200  # the input is not flipped in place


HISTORY = [
    {"epoch": 1, "val_recall_at_1": 0.6},
    {"epoch": 2, "val_recall_at_1": 0.9},
    {"epoch": 3, "val_recall_at_1": 0.9},
    {"epoch": 4, "val_recall_at_1": 0.8},
]


def test_the_refit_trains_the_best_epochs_when_validation_can_tell_them_apart():
    assert refit_epochs(HISTORY, configured=8, validation_queries=MIN_VALIDATION_QUERIES) == 2


@pytest.mark.parametrize(
    "history, queries",
    [(HISTORY, MIN_VALIDATION_QUERIES - 1), ([{"epoch": 1, "val_recall_at_1": None}], 500)],
)
def test_the_refit_trains_the_configured_epochs_without_a_decisive_validation(history, queries):
    assert refit_epochs(history, configured=8, validation_queries=queries) == 8
