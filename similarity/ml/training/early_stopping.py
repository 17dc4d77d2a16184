"""Early stopping whose state survives a killed worker, kept in the run's checkpoint folder."""

import io
import json
import os
from pathlib import Path

import keras
import numpy as np


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on val_recall_at_1, best weights restored at the end, whose state (best
    value, wait, best epoch, the best weights) outlives a killed worker.

    BackupAndRestore brings back weights, optimizer and epoch but not this state: a fresh
    EarlyStopping would start at best=-inf and wait=0, train epochs the run would not have,
    and lose the best weights from before the crash. After each finished epoch the state is
    written to `<name>.json`, keyed by the number of finished epochs, and new best weights to
    `<name>.best<epoch>.npz`, before the backup of that epoch (this callback comes first);
    the resumed run takes the state of the epoch its backup restored.
    """

    # A backup is at most two epochs behind the last state: the state written and the backup
    # not (killed in between), and that backup truncated, so BackupAndRestore used its .bkp.
    KEPT_STATES = 3

    def __init__(self, folder: Path, name: str, *, patience: int):
        super().__init__(
            monitor="val_recall_at_1", mode="max", patience=patience, restore_best_weights=True
        )
        self.folder, self.name = folder, name
        self.state_file = folder / f"{name}.json"
        self._restored = False

    def stopped_weights(self) -> list[np.ndarray] | None:
        """The best weights when the last finished epoch stopped the run (a worker killed before
        the phase was marked finished), else None: the phase then ends without training."""
        states = self._states()
        last = states[max(states, key=int)] if states else None
        if last is None or not last["stopped_epoch"]:
            return None
        return _read_weights(self.folder / last["weights"])

    def on_epoch_begin(self, epoch, logs=None):
        # The first epoch of a fit is where BackupAndRestore resumed (its on_train_begin ran).
        if not self._restored:
            self._restored = True
            self._restore(self._states().get(str(epoch)))

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:  # cancelled mid-epoch: not a finished epoch
            return
        super().on_epoch_end(epoch, logs)
        if self.best_epoch == epoch and self.best_weights is not None:
            _write_weights(self.folder / self._weights_name(), self.best_weights)
        self._save(epoch + 1)

    def _weights_name(self) -> str:
        return f"{self.name}.best{self.best_epoch + 1}.npz"

    def _states(self) -> dict[str, dict]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def _save(self, finished: int) -> None:
        states = self._states()
        states[str(finished)] = {
            "best": None if self.best is None else float(self.best),
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "weights": self._weights_name() if self.best_weights is not None else None,
        }
        kept = sorted(states, key=int)[-self.KEPT_STATES :]
        states = {key: states[key] for key in kept}
        _replace_file(self.state_file, json.dumps(states).encode())
        referenced = {state["weights"] for state in states.values()}
        for stale in self.folder.glob(f"{self.name}.best*.npz"):
            if stale.name not in referenced:
                stale.unlink()

    def _restore(self, state: dict | None) -> None:
        if state is None:  # a phase's first epoch (or a backup older than these states)
            return
        self.best, self.wait = state["best"], state["wait"]
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        if state["weights"]:
            self.best_weights = _read_weights(self.folder / state["weights"])


def _write_weights(path: Path, weights: list[np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, *weights)
    _replace_file(path, buffer.getvalue())


def _read_weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as saved:
        return [saved[f"arr_{index}"] for index in range(len(saved.files))]


def _replace_file(path: Path, content: bytes) -> None:
    # Written aside, then renamed: a worker killed mid-write leaves the previous file whole.
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)
