"""Test-time augmentation for query photos: a photo and its mirror image, averaged.

NumPy only, so the web process (LiteRT) and training code share it without TensorFlow.
"""

from collections.abc import Callable

import numpy as np


def flip_averaged(embed: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of each image's and its mirror's vectors.

    embed: uint8 (n, s, s, 3) → float32 (n, d), e.g. `lambda x: embed_arrays(model, x)` or an
    exported embedder's `embed`. Returns float32 (n, d) unit vectors.
    """
    vectors = np.asarray(embed(images), np.float64) + np.asarray(
        embed(np.ascontiguousarray(images[:, :, ::-1])), np.float64
    )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
