"""The text tower's tokeniser and its NumPy inference (no TensorFlow: the web process encodes
search queries with it).

Tokens are hashed words and character trigrams, so unseen words and model numbers still map to
learned buckets. The network is embedding bag → dense ReLU → dense → L2 normalisation; training
(`text_tower.py`) exports exactly these weights to `text_tower.npz`.
"""

import functools
import hashlib
from pathlib import Path

import numpy as np

from .lexical import WORD_RE, normalise

VOCABULARY = 2**15  # hashed buckets; id 0 is padding
SEQUENCE_LENGTH = 96  # tokens kept per text: a title, brand, category and tags fit
TEXT_TOWER_FILE = "text_tower.npz"


def _bucket(token: str) -> int:
    digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
    return 1 + int.from_bytes(digest, "little") % (VOCABULARY - 1)


def tokenise(text: str) -> np.ndarray:
    """int32 (SEQUENCE_LENGTH,) token ids: words first, then their trigrams; 0-padded."""
    words = WORD_RE.findall(normalise(text))
    tokens = [f"w:{word}" for word in words]
    for word in words:
        padded = f"<{word}>"
        tokens += [f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2)]
    ids = np.zeros(SEQUENCE_LENGTH, dtype=np.int32)
    buckets = [_bucket(token) for token in tokens[:SEQUENCE_LENGTH]]
    ids[: len(buckets)] = buckets
    return ids


def tokenise_batch(texts: list[str]) -> np.ndarray:
    return (
        np.stack([tokenise(text) for text in texts])
        if texts
        else np.zeros((0, SEQUENCE_LENGTH), dtype=np.int32)
    )


class TextEncoder:
    """NumPy forward pass of an exported text tower: texts → float32 (n, d) unit vectors."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.embeddings = weights["embeddings"]
        self.hidden_kernel, self.hidden_bias = weights["hidden_kernel"], weights["hidden_bias"]
        self.output_kernel, self.output_bias = weights["output_kernel"], weights["output_bias"]

    @classmethod
    def load(cls, directory: Path) -> "TextEncoder":
        with np.load(directory / TEXT_TOWER_FILE) as data:
            return cls({name: data[name] for name in data.files})

    def encode_ids(self, ids: np.ndarray) -> np.ndarray:
        mask = (ids != 0).astype(np.float32)[..., None]
        summed = (self.embeddings[ids] * mask).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1), 1.0)
        hidden = np.maximum(pooled @ self.hidden_kernel + self.hidden_bias, 0.0)
        output = hidden @ self.output_kernel + self.output_bias
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return (output / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_ids(tokenise_batch(texts))


@functools.lru_cache(maxsize=2)  # the active version's encoder, loaded once per process
def cached_text_encoder(directory: str) -> "TextEncoder | None":
    path = Path(directory)
    return TextEncoder.load(path) if (path / TEXT_TOWER_FILE).exists() else None
