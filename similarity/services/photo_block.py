"""A training run's photos in one block of memory, each split a run of its rows (SPLITS order).

A catalogue of 100,000 photos at 224 px is 14 GiB of uint8. Held as one array per split, it was
copied again by the known-products hold-out (boolean indexing), by each refit (the splits
concatenated) and by the evaluation (the whole catalogue concatenated): two to three times the
catalogue at once. Here the splits are views of one block: the hold-out reorders its rows in
place, and consecutive splits join as one view (`rows_joined`), so the catalogue is held once.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from catalog.selectors import ImageRecord

from .datasets import SPLITS
from .training_photos import photos_stack

Splits = dict[str, np.ndarray]


def block_stack(
    decoded: dict[int, np.ndarray], records: dict[str, list[ImageRecord]], *, size: int
) -> Splits:
    """Every split's photos (`records` by split; a split not named is empty), stacked into one
    block; each split a view of its rows."""
    ordered = [record for split in SPLITS for record in records.get(split, [])]
    block = photos_stack(decoded, ordered, size=size)
    return block_views(block, {split: len(records.get(split, [])) for split in SPLITS})


def block_views(block: np.ndarray, counts: dict[str, int]) -> Splits:
    """Each split as a view of `counts[split]` consecutive rows of `block`, in SPLITS order."""
    views, start = {}, 0
    for split in SPLITS:
        views[split] = block[start : start + counts[split]]
        start += counts[split]
    return views


def train_photos_move(
    arrays: Splits, labels: Splits, assigned: np.ndarray, destinations: dict[int, str]
) -> None:
    """Move "train"'s i-th photo and label to the split `destinations[assigned[i]]` (0: it stays),
    in place, each split keeping its photos' order. The block's rows are reordered: none is
    copied."""
    starts = np.cumsum([0] + [len(arrays[split]) for split in SPLITS])
    rows = {split: np.arange(starts[i], starts[i + 1]) for i, split in enumerate(SPLITS)}
    train_rows, train_labels = rows["train"], labels["train"]
    for number, split in [*destinations.items(), (0, "train")]:
        rows[split] = train_rows[assigned == number]
        labels[split] = train_labels[assigned == number]
    block = rows_joined([arrays[split] for split in SPLITS])
    rows_reorder(block, np.concatenate([rows[split] for split in SPLITS]))
    arrays.update(block_views(block, {split: len(rows[split]) for split in SPLITS}))


def rows_joined(parts: list[np.ndarray]) -> np.ndarray:
    """np.concatenate(parts), as a view when the parts are consecutive rows of one block (no copy
    of the photos); otherwise a copy."""
    filled = [part for part in parts if len(part)]  # an empty view's address is not its place
    if not filled or filled[0].base is None or not _consecutive(filled):
        return np.concatenate(parts)
    first, rows = filled[0], sum(len(part) for part in filled)
    return as_strided(first, shape=(rows, *first.shape[1:]), strides=first.strides)


def rows_reorder(block: np.ndarray, order: np.ndarray) -> None:
    """block[i] = the former block[order[i]] for every i (`order` a permutation), in place: cycle
    by cycle, holding one row aside, instead of a second block."""
    placed = np.zeros(len(order), dtype=bool)
    held = np.empty_like(block[:1])
    for start in range(len(order)):
        if placed[start]:
            continue
        held[0] = block[start]
        row = start
        while True:
            placed[row] = True
            source = int(order[row])
            if source == start:
                block[row] = held[0]
                break
            block[row] = block[source]
            row = source


def _consecutive(parts: list[np.ndarray]) -> bool:
    """Whether the parts are runs of rows of one array, each starting where the one before ends."""
    first = parts[0]
    address = _address(first)
    for part in parts:
        if part.base is not first.base or not part.flags.c_contiguous or _address(part) != address:
            return False
        if part.shape[1:] != first.shape[1:] or part.dtype != first.dtype:
            return False
        address += part.nbytes
    return True


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]
