"""The training snapshot of the catalogue: which images, which labels, which split.

Two protocols hold images out (see `ml.evaluation.protocols`). *New products*: "val" and "test"
are made by *unit* (a variant group, or a product without a group), so no product and no variant
group has images on two sides. *Known products*: "known_val" and "known_test" are near-duplicate
groups of photos moved out of "train" after the images are loaded (`snapshot_hold_out_known`);
their labels keep photos in the catalogue.
"""

import hashlib
import random
from dataclasses import dataclass, field

from catalog import selectors as catalog_selectors
from catalog.selectors import ImageRecord

from .labels import label_for, resolve_label_source, unit_of
from .training_photos import named_ids

TEST_SHARE = 0.2
VALIDATION_SHARE = 0.1
# Units always left to train on (with one, a batch has nothing to tell its product from): 2
# units hold none out (known products still measures them), 3 only a test unit; 4+ as shares say.
MIN_TRAINING_UNITS = 2

ERROR_TOO_SMALL = "the catalogue has {images} images; training needs at least {minimum}"
ERROR_UNREADABLE = " ({count} more stored photos do not decode: image ids {ids})"
MIN_IMAGES = 8


SPLITS = ("train", "val", "test", "known_val", "known_test")
KNOWN_SPLITS = {1: "known_test", 2: "known_val"}  # protocols.known_products_holdout set numbers


class DatasetTooSmall(ValueError):
    """Not enough images to train and evaluate a model."""


@dataclass
class Snapshot:
    """Images per split with integer labels; `label_source` says what the labels mean."""

    label_source: str
    records: dict[str, list[ImageRecord]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)
    label_names: list[str] = field(default_factory=list)
    # Photos left out because their stored file does not decode (training_photos).
    unreadable_image_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        digest = hashlib.sha256()
        for split in SPLITS:
            for record in self.records[split]:
                digest.update(f"{split}:{record.image_id}:{record.sha256};".encode())
        return {
            "label_source": self.label_source,
            "images": {split: len(items) for split, items in self.records.items()},
            "labels": len(self.label_names),
            "sha256": digest.hexdigest(),
            **{f"{split}_image_ids": self.image_ids(split) for split in SPLITS if split != "train"},
            "unreadable_image_ids": self.unreadable_image_ids,
        }

    def image_ids(self, split: str) -> list[int]:
        return [record.image_id for record in self.records[split]]


def held_out_units(units: int) -> tuple[int, int]:
    """(test, validation) unit counts: the shares, at least one each, as long as
    MIN_TRAINING_UNITS stay in training (validation gives way first: the test has figures)."""
    spare = max(0, units - MIN_TRAINING_UNITS)
    test_count = min(max(1, round(units * TEST_SHARE)), spare)
    return test_count, min(max(1, round(units * VALIDATION_SHARE)), spare - test_count)


def catalogue_snapshot(
    *,
    label_source: str,
    seed: int,
    records: list[ImageRecord] | None = None,
    unreadable_image_ids: tuple[int, ...] = (),
) -> Snapshot:
    """Snapshot the catalogue's images (`records`; default: every active product's) into
    train/val/test by unit, deterministically; the photos left out as unreadable are named."""
    if records is None:
        records = catalog_selectors.image_records()
    if len(records) < MIN_IMAGES:
        raise DatasetTooSmall(_too_small(len(records), unreadable_image_ids))
    source = resolve_label_source(records, label_source)
    units = sorted({unit_of(record) for record in records})
    random.Random(seed).shuffle(units)
    test_count, val_count = held_out_units(len(units))
    split_of = {unit: "test" for unit in units[:test_count]}
    split_of.update({unit: "val" for unit in units[test_count : test_count + val_count]})
    snapshot = Snapshot(
        label_source=source,
        records={split: [] for split in SPLITS},
        unreadable_image_ids=list(unreadable_image_ids),
    )
    names = sorted({label_for(record, source) for record in records})
    index = {name: position for position, name in enumerate(names)}
    snapshot.label_names = names
    snapshot.labels = {split: [] for split in SPLITS}
    for record in records:
        split = split_of.get(unit_of(record), "train")
        snapshot.records[split].append(record)
        snapshot.labels[split].append(index[label_for(record, source)])
    return snapshot


def _too_small(images: int, unreadable: tuple[int, ...]) -> str:
    ids = unreadable and ERROR_UNREADABLE.format(count=len(unreadable), ids=named_ids(unreadable))
    return ERROR_TOO_SMALL.format(images=images, minimum=MIN_IMAGES) + (ids or "")


def snapshot_hold_out_known(snapshot: Snapshot, assigned: list[int]) -> Snapshot:
    """Move "train" images into the known-products splits: assigned[i] is 0 (stays) or a
    set number of `protocols.known_products_holdout` for the i-th "train" image."""
    moving = list(zip(snapshot.records["train"], snapshot.labels["train"], assigned, strict=True))
    snapshot.records["train"], snapshot.labels["train"] = [], []
    for record, label, number in moving:
        split = KNOWN_SPLITS.get(int(number), "train")
        snapshot.records[split].append(record)
        snapshot.labels[split].append(label)
    return snapshot
