"""A training run holds its catalogue's photos once: every split is a view of one block, the
known-products hold-out moves photos within it, and the refit's and the evaluation's
"all splits" are views of it, not copies (a 100k-photo catalogue is 14 GiB at 224 px)."""

from types import SimpleNamespace

import numpy as np
import pytest

from similarity.services import photo_block, protocols
from similarity.services.datasets import SPLITS, Snapshot
from similarity.services.photo_block import block_views, rows_joined, rows_reorder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def photos(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 4, 4, 3), dtype=np.uint8)


def test_reordering_in_place_is_fancy_indexing_without_a_second_block():
    block = photos(50)
    order = np.random.default_rng(1).permutation(50)
    expected = block[order]

    rows_reorder(block, order)

    np.testing.assert_array_equal(block, expected)
    rows_reorder(block, np.arange(50))  # the identity moves nothing
    np.testing.assert_array_equal(block, expected)


def test_consecutive_splits_join_as_a_view_and_anything_else_as_a_copy():
    block = photos(10)
    views = block_views(block, dict(zip(SPLITS, [4, 0, 3, 2, 1], strict=True)))

    everything = rows_joined([views[split] for split in SPLITS])
    all_but_last = rows_joined([views[split] for split in SPLITS[:-1]])
    skipping = rows_joined([views["train"], views["test"]])  # "val" is empty: still consecutive
    apart = rows_joined([views["train"], views["known_val"]])

    assert np.shares_memory(everything, block) and everything.shape == block.shape
    assert np.shares_memory(all_but_last, block) and len(all_but_last) == 9
    assert np.shares_memory(skipping, block) and len(skipping) == 7
    assert not np.shares_memory(apart, block)
    np.testing.assert_array_equal(apart, np.concatenate([block[:4], block[7:9]]))
    separate = [photos(2, seed=2), photos(3, seed=3)]
    np.testing.assert_array_equal(rows_joined(separate), np.concatenate(separate))


def test_the_hold_out_moves_photos_within_the_block_as_boolean_indexing_would_copy_them(
    monkeypatch,
):
    block = photos(20)
    counts = dict(zip(SPLITS, [14, 3, 3, 0, 0], strict=True))
    arrays = block_views(block, counts)
    labels = {split: np.arange(len(arrays[split])) + 100 * i for i, split in enumerate(SPLITS)}
    assigned = np.random.default_rng(4).integers(0, 3, 14)  # 0 stays, 1 known_test, 2 known_val
    before = {split: arrays[split].copy() for split in SPLITS}
    monkeypatch.setattr(protocols.baselines, "frozen_features", lambda config, images: (None, ""))
    monkeypatch.setattr(protocols, "near_duplicate_groups", lambda *args, **kwargs: None)
    monkeypatch.setattr(protocols, "known_products_holdout", lambda *args, **kwargs: assigned)
    monkeypatch.setattr(protocols, "snapshot_hold_out_known", lambda *args: None)

    config = SimpleNamespace(seed=0)
    protocols.hold_out_known_photos(Snapshot.__new__(Snapshot), arrays, labels, config)

    train = before["train"]
    expected = {"train": 0, "known_test": 1, "known_val": 2}
    for split, number in expected.items():
        np.testing.assert_array_equal(arrays[split], train[assigned == number])
    for split in ("val", "test"):
        np.testing.assert_array_equal(arrays[split], before[split])
    assert all(np.shares_memory(arrays[split], block) for split in SPLITS if len(arrays[split]))
    assert np.shares_memory(protocols._catalogue(arrays, labels)[0], block)


def test_a_training_runs_splits_are_views_of_one_block(monkeypatch):
    from catalog.models import ProductImage
    from tests.catalog.factories import shape_catalogue
    from tests.similarity.factories import train_tiny

    shape_catalogue(groups_per_shape=2, colours=3, images_per_product=2)
    blocks = []
    stack = photo_block.block_stack

    def kept(*args, **kwargs):
        arrays = stack(*args, **kwargs)
        blocks.append({split: arrays[split] for split in SPLITS})
        return arrays

    monkeypatch.setattr("similarity.services.pipeline.block_stack", kept)
    joined = []
    monkeypatch.setattr(
        "similarity.services.refits.rows_joined",
        lambda parts: joined.append(rows_joined(parts)) or joined[-1],
    )

    version, job = train_tiny(label_source="auto")

    assert job.state == "succeeded"
    block = blocks[0]["train"].base
    assert block is not None and len(block) == ProductImage.objects.count()
    assert joined and all(np.shares_memory(images, block) for images in joined)  # the refits
