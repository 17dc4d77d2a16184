"""The two sequence encoders in Keras 3 (`keras.ops` only, so TensorFlow and JAX both run them).

Both map (B, L, dim) event inputs and a (B, L) bool mask of real events to (B, L, dim) states;
`forward` repeats them in NumPy for serving.
"""

import keras
import numpy as np
from keras import ops

from .config import SequenceConfig

MASKED = -1e9  # logit of a masked attention key: exp() gives 0
LN_EPSILON = 1e-6  # the LayerNormalization epsilon, repeated in `forward`


class AttentionEncoder(keras.layers.Layer):
    """SASRec: learned positions, pre-norm causal self-attention + feed-forward blocks."""

    def __init__(self, config: SequenceConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        dim, seed = config.dim, config.seed
        self.position_embedding = self.add_weight(
            shape=(config.max_len, dim),
            initializer=keras.initializers.RandomNormal(stddev=0.05, seed=seed),
            name="position_embedding",
        )
        self.blocks = [AttentionBlock(config, name=f"block{b}") for b in range(config.layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_norm")

    def call(self, x, valid, training=False):
        length = ops.shape(x)[1]
        x = x + ops.cast(self.position_embedding[-length:], x.dtype)
        causal = ops.tril(ops.ones((length, length), dtype="bool"))
        diagonal = ops.eye(length, dtype="bool")
        # A query sees earlier real events and always itself, so no row is fully masked.
        mask = ops.logical_and(causal, ops.logical_or(valid[:, None, :], diagonal))
        for block in self.blocks:
            x = block(x, mask[:, None, :, :], training=training)
        return self.final_norm(x)


class AttentionBlock(keras.layers.Layer):
    def __init__(self, config: SequenceConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        dim, seed = config.dim, config.seed
        self.heads, self.head_dim = config.heads, config.dim // config.heads
        self.norm1 = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="norm1")
        self.norm2 = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="norm2")
        self.query, self.key, self.value, self.out = (
            keras.layers.Dense(dim, name=name) for name in ("query", "key", "value", "out")
        )
        self.ffn1 = keras.layers.Dense(dim, activation="relu", name="ffn1")
        self.ffn2 = keras.layers.Dense(dim, name="ffn2")
        self.dropout = keras.layers.Dropout(config.dropout, seed=seed)

    def _split(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, length, self.heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, x, mask, training=False):
        h = self.norm1(x)
        q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / float(np.sqrt(self.head_dim))
        scores = ops.where(mask, ops.cast(scores, "float32"), MASKED)
        attention = ops.cast(ops.softmax(scores, axis=-1), v.dtype)
        attended = ops.transpose(ops.matmul(attention, v), (0, 2, 1, 3))
        attended = ops.reshape(attended, ops.shape(x))
        x = x + self.dropout(self.out(attended), training=training)
        h = self.ffn2(self.ffn1(self.norm2(x)))
        return x + self.dropout(h, training=training)


class GruEncoder(keras.layers.Layer):
    """GRU4Rec: stacked GRUs over the events; padding steps leave the state unchanged."""

    def __init__(self, config: SequenceConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.grus = [
            keras.layers.GRU(config.dim, return_sequences=True, seed=config.seed, name=f"gru{g}")
            for g in range(config.layers)
        ]

    def call(self, x, valid, training=False):
        for gru in self.grus:
            x = gru(x, mask=valid, training=training)
        return x
