"""Per-epoch checkpoints of a training run, so a stopped job resumes where it was (Keras).

A folder holds the latest epoch's model and optimizer variables (one .npz, no pickle), the best
epoch's serving weights (`artifacts` format) and a JSON state. The two weight files are named by
their epoch and the state, written last, names the epochs: its rename commits the checkpoint,
so a worker killed between the files leaves the previous epoch's whole (variables of epoch N
beside a state of epoch N - 1 resumed an epoch late, its losses under the wrong numbers).

A retry re-reads the catalogue and the events, which may have changed since the checkpoint: the
state keeps a fingerprint of the data, and only a run on the same data resumes (item indices,
the known-items mask and the content vectors are restored with the weights).
"""

import hashlib
import json
import logging
from pathlib import Path

import keras
import numpy as np

from . import artifacts
from .config import SequenceConfig

CHECKPOINT = "checkpoint-e{epoch}.npz"  # the latest epoch: model and optimizer variables
BEST = "best-e{epoch}.npz"  # the best epoch's serving weights (artifacts format)
STATE = "state.json"  # epoch, history, best epoch and recall; the config and data it belongs to

logger = logging.getLogger(__name__)


def data_fingerprint(train, valid, content: np.ndarray | None) -> str:
    """A digest of what a run learns from: both parts of the split (`data.SequenceData`), the
    item count and the content vectors (None when the model reads none). Item indices follow
    the catalogue's order, so a product added, removed or replaced changes it too."""
    digest = hashlib.blake2b(str(train.n_items).encode(), digest_size=16)
    arrays = [
        values
        for part in (train, valid)
        for values in (part.items, part.kinds, part.times, part.visitors, part.lengths)
    ]
    if content is not None:
        arrays.append(np.asarray(content, dtype=np.float32))
    for values in arrays:
        digest.update(np.int64(values.size).tobytes())  # where one array ends and the next starts
        digest.update(np.ascontiguousarray(values))
    return digest.hexdigest()


def save(
    folder: Path,
    model: keras.Model,
    config: SequenceConfig,
    state: dict,
    best_weights: dict[str, np.ndarray] | None,
) -> None:
    """Write the checkpoint of a finished epoch; state: {"epoch", "history", "best_recall",
    "best_epoch", "data" (`data_fingerprint`)} (JSON-ready)."""
    folder.mkdir(parents=True, exist_ok=True)
    variables = [keras.ops.convert_to_numpy(v) for v in model.variables]
    variables += [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    checkpoint, best = (
        CHECKPOINT.format(epoch=state["epoch"]),
        BEST.format(epoch=state["best_epoch"]),
    )
    partial = folder / (checkpoint + ".partial")
    with open(partial, "wb") as handle:
        np.savez(handle, *variables)
    partial.replace(folder / checkpoint)
    if best_weights is not None:
        artifacts.save(folder / best, best_weights, config)
    partial = folder / (STATE + ".partial")
    partial.write_text(json.dumps({**state, "config": config.to_dict()}))
    partial.replace(folder / STATE)  # the commit: the files of older epochs may go now
    for older in [*folder.glob(CHECKPOINT.format(epoch="*")), *folder.glob(BEST.format(epoch="*"))]:
        if older.name not in (checkpoint, best):
            older.unlink(missing_ok=True)


def restore(folder: Path, model: keras.Model, config: SequenceConfig, data: str) -> dict | None:
    """The saved state with "best_weights" added, model and optimizer restored; None when the
    folder holds no checkpoint of this model on this data (`data_fingerprint`). A checkpoint
    differing only in epochs or patience is this model too (train some more)."""
    if not (folder / STATE).exists():
        return None
    state = json.loads((folder / STATE).read_text())
    checkpoint = folder / CHECKPOINT.format(epoch=state["epoch"])
    best = folder / BEST.format(epoch=state["best_epoch"])
    if not checkpoint.exists():  # one written before its files were named by epoch
        return None
    if _resumable(state["config"]) != _resumable(config.to_dict()):
        return None
    if state.get("data") != data:
        logger.info("%s: products, events or content changed since; not resumed", folder)
        return None
    model.optimizer.build(model.trainable_variables)
    targets = [*model.variables, *model.optimizer.variables]
    with np.load(checkpoint, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if [tuple(v.shape) for v in targets] != [v.shape for v in values]:
        logger.info("%s: variables of other shapes than this model's; not resumed", folder)
        return None
    for variable, value in zip(targets, values, strict=True):
        variable.assign(value)
    state["best_weights"] = artifacts.load(best)[0] if best.exists() else None
    return state


def _resumable(config: dict) -> dict:
    """The config fields a checkpoint must share to be resumed."""
    return {name: value for name, value in config.items() if name not in ("epochs", "patience")}
