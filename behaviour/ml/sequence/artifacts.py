"""Save and load a sequence model as one .npz: weights plus its config as JSON (no pickle)."""

import json
import zipfile
from pathlib import Path

import numpy as np

from .config import SequenceConfig

# Why a version's .npz file cannot be read: lost (OSError), foreign (ValueError, KeyError), or
# damaged, empty or cut short by a full disk or a partial restore (NumPy raises EOFError and
# BadZipFile for those, which are neither).
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)

CONFIG_KEY = "__config_json__"
FORMAT_KEY = "__format__"
FORMAT = "prodsim-sequence-1"


def save(path: Path, weights: dict[str, np.ndarray], config: SequenceConfig) -> Path:
    """Write weights (name -> array) and config to path (a .npz); written whole or not at all.

    The file is written next to path and renamed over it, so a reader never sees half a file.
    """
    path = Path(path)
    if any(name.startswith("__") for name in weights):
        raise ValueError("weight names may not start with '__'")
    partial = path.with_name(path.name + ".partial")
    arrays = {name: np.asarray(value) for name, value in weights.items()}
    arrays[CONFIG_KEY] = np.array(json.dumps(config.to_dict()))
    arrays[FORMAT_KEY] = np.array(FORMAT)
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    partial.replace(path)
    return path


def load(path: Path) -> tuple[dict[str, np.ndarray], SequenceConfig]:
    """Weights and config from a file written by `save`; ValueError when it is not one."""
    with np.load(Path(path), allow_pickle=False) as archive:
        if FORMAT_KEY not in archive.files or str(archive[FORMAT_KEY]) != FORMAT:
            raise ValueError(f"{path} is not a prodsim sequence model ({FORMAT})")
        config = SequenceConfig.from_dict(json.loads(str(archive[CONFIG_KEY])))
        weights = {
            name: archive[name] for name in archive.files if name not in (CONFIG_KEY, FORMAT_KEY)
        }
    return weights, config
