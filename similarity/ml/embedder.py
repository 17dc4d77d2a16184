"""Inference: turn preprocessed images into vectors with an exported model version.

The TFLite artifact (XNNPACK kernels) is the fast CPU path; the Keras file is the fallback.
`get_embedder` caches one loaded model per artifact directory per process, so a worker child
loads a model once, lazily, never at import time.
"""

import functools
import os
from pathlib import Path

import numpy as np

from .artifacts import KERAS_FILE, TFLITE_FILE

BATCH_SIZE = 32  # measured: XNNPACK throughput flattens above 32 on 2 cores


class TfliteEmbedder:
    """Runs model.tflite; input uint8 (n, s, s, 3), output float32 (n, d) unit vectors."""

    def __init__(self, path: Path, *, threads: int | None = None):
        # LiteRT is the standalone TFLite runtime: no TensorFlow import, so the web process can
        # embed a visual-search upload. XNNPACK is its default CPU delegate.
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(
            model_path=str(path), num_threads=threads or os.cpu_count() or 1
        )
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def embed(self, images: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(images) != self._batch:
            self._interpreter.resize_tensor_input(self._input, images.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(images)
        self._interpreter.set_tensor(self._input, images.astype(np.float32))
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output), dtype=np.float32)

    @property
    def dimension(self) -> int:
        return int(self._interpreter.get_output_details()[0]["shape"][-1])


class KerasEmbedder:
    """Runs model.keras (used when no TFLite artifact exists)."""

    def __init__(self, path: Path):
        import keras

        self._model = keras.models.load_model(path)

    def embed(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._model(images.astype(np.float32), training=False), np.float32)


def model_files_exist(directory: str) -> bool:
    """Whether `directory` holds a model `get_embedder` can load (TFLite or Keras)."""
    return (Path(directory) / TFLITE_FILE).exists() or (Path(directory) / KERAS_FILE).exists()


def load_embedder(directory: Path) -> TfliteEmbedder | KerasEmbedder:
    tflite = directory / TFLITE_FILE
    return TfliteEmbedder(tflite) if tflite.exists() else KerasEmbedder(directory / KERAS_FILE)


@functools.lru_cache(maxsize=2)  # the active version and one candidate being embedded
def get_embedder(directory: str) -> TfliteEmbedder | KerasEmbedder:
    return load_embedder(Path(directory))


def embed_in_batches(embedder, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Embed uint8 (n, s, s, 3) images → float32 (n, d), batch by batch."""
    parts = [embedder.embed(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
