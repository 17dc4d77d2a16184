"""similarity.ml.evaluation.protocols: near-duplicate groups, the known-products hold-out and
early stopping's gallery."""

import numpy as np
import pytest

from similarity.ml.evaluation.protocols import (
    known_products_holdout,
    near_duplicate_groups,
    validation_gallery,
)
from similarity.ml.training import Validation


def unit(angle_degrees: float) -> list[float]:
    angle = np.radians(angle_degrees)
    return [float(np.cos(angle)), float(np.sin(angle))]


def test_a_chain_of_close_photos_is_one_group_and_a_distant_photo_its_own():
    # cos 10° = 0.985 links 0-1 and 1-2 (0-2 at 20° = 0.94 links too); 60° (0.5) is far.
    vectors = np.array([unit(0), unit(10), unit(20), unit(80)])
    groups = near_duplicate_groups(vectors, np.zeros(4, dtype=int), min_cosine=0.95)
    assert groups[0] == groups[1] == groups[2]
    assert len(set(groups.tolist())) == 2


def test_single_linkage_joins_photos_only_through_the_chain():
    # 0-1 and 1-2 are 30° apart (cos 0.866 ≥ 0.85), 0-2 60° (0.5): one group through photo 1.
    vectors = np.array([unit(0), unit(30), unit(60)])
    assert len(set(near_duplicate_groups(vectors, np.zeros(3), min_cosine=0.85).tolist())) == 1
    # Without the middle photo the two ends are separate groups.
    assert len(set(near_duplicate_groups(vectors[[0, 2]], np.zeros(2), min_cosine=0.85))) == 2


def test_identical_photos_of_two_labels_never_share_a_group():
    vectors = np.array([unit(0), unit(0)])
    groups = near_duplicate_groups(vectors, np.array([1, 2]), min_cosine=0.8)
    assert groups[0] != groups[1]


def test_hold_out_takes_whole_groups_smallest_first_and_keeps_the_largest():
    # One label, 10 photos: a group of 6, a pair and two singles.
    groups = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])
    assigned = known_products_holdout(np.zeros(10, dtype=int), groups, shares=(0.2,), seed=3)
    # The two singles (the smallest) reach 20 % of 10; the largest group stays.
    assert assigned.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]


def test_hold_out_fills_the_sets_in_order_and_never_splits_a_group():
    groups = np.array([0, 0, 0, 0, 1, 2, 3, 3, 4, 4])
    assigned = known_products_holdout(np.zeros(10, dtype=int), groups, shares=(0.2, 0.2), seed=0)
    for group in np.unique(groups):
        assert len(set(assigned[groups == group].tolist())) == 1
    assert (assigned[groups == 0] == 0).all()  # the largest group stays in the catalogue
    assert (assigned == 1).sum() == 2  # the two singles
    assert (assigned == 2).sum() == 2  # then one of the pairs


@pytest.mark.parametrize("photos", [1, 3])
def test_a_label_with_one_group_keeps_every_photo(photos):
    assigned = known_products_holdout(
        np.zeros(photos, dtype=int), np.zeros(photos, dtype=int), shares=(0.2, 0.1), seed=0
    )
    assert assigned.tolist() == [0] * photos


def test_every_label_keeps_a_photo_so_each_query_has_an_answer():
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(6), 7)
    groups = rng.integers(0, 1000, len(labels))  # mostly singles: the most that can go
    assigned = known_products_holdout(labels, groups, shares=(0.5, 0.4), seed=1)
    for label in range(6):
        assert (assigned[labels == label] == 0).any()


def test_early_stoppings_gallery_takes_at_most_n_photos_per_label_spread_over_its_photos():
    labels = np.array([0] * 25 + [1] * 3 + [2] * 10)

    gallery = validation_gallery(labels, most=5)

    assert gallery.tolist() == [0, 6, 12, 18, 24, 25, 26, 27, 28, 30, 32, 35, 37]
    assert validation_gallery(np.zeros(0, dtype=int)).tolist() == []


def test_known_products_validation_ranks_among_the_sampled_training_photos():
    training_labels = np.array([0] * 25 + [1] * 3)
    training = np.arange(len(training_labels)) * 10  # stands in for photos: tells them apart

    check = Validation.known_products(np.array([7, 8]), np.array([0, 1]), training, training_labels)

    assert check.images.tolist() == [7, 8] and check.labels.tolist() == [0, 1]
    expected = validation_gallery(training_labels)
    assert check.gallery_images.tolist() == (training[expected]).tolist()
    assert check.gallery_labels.tolist() == [0] * 10 + [1] * 3
