"""The Keras 3 sequence model: shared item representation, GRU or self-attention, logits.

Written with `keras.ops` and Keras layers only (no tf.* calls), so the same code runs under the
TensorFlow backend here and the JAX backend on the GPU check. `forward` (used by `serving`)
re-implements the forward pass in NumPy from `export_weights`; its names are the contract.
"""

import keras
import numpy as np
from keras import ops

from .config import SequenceConfig
from .data import N_KIND_CODES
from .encoders import AttentionEncoder, GruEncoder

MASKED = -1e9  # logit of an accidental negative (the target drawn as one): exp() gives 0


class SequenceRecommender(keras.Model):
    """Inputs: (B, L) item indices and (B, L) kind codes (0 = padding), left-padded.

    Item representation R[i] = id embedding E[i] · known[i] + content[i] @ W_content, shared by
    inputs and outputs. Full softmax (config.negatives == 0): call([items, kinds]) gives logits
    (B, L, n_items). Sampled: call([items, kinds, targets, negatives]) with (B, L) targets
    (padding clipped to 0) and (B, N) negatives gives (B, L, 1 + N): the target first.
    """

    def __init__(
        self,
        config: SequenceConfig,
        n_items: int,
        content: np.ndarray | None = None,
        known: np.ndarray | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config, self.n_items = config, n_items
        dim = config.dim
        normal = keras.initializers.RandomNormal(stddev=0.05, seed=config.seed)
        self.item_embedding = self.add_weight(
            shape=(n_items, dim), initializer=normal, name="item_embedding"
        )
        known = np.ones(n_items, dtype="float32") if known is None else known
        self.item_known = self._constant("item_known", np.asarray(known, dtype="float32"))
        self.use_content = config.use_content and content is not None
        if self.use_content:
            content = np.asarray(content, dtype="float32")
            self.content = self._constant("content", content)
            self.content_kernel = self.add_weight(
                shape=(content.shape[1], dim), initializer="glorot_uniform", name="content_kernel"
            )
        self.kind_embedding = self.add_weight(
            shape=(N_KIND_CODES, dim), initializer=normal, name="kind_embedding"
        )
        self.input_dropout = keras.layers.Dropout(config.dropout, seed=config.seed)
        if config.architecture == "gru":
            self.encoder = GruEncoder(config)
        else:
            self.encoder = AttentionEncoder(config)

    def _constant(self, name: str, value: np.ndarray):
        weight = self.add_weight(shape=value.shape, initializer="zeros", trainable=False, name=name)
        weight.assign(value)
        return weight

    def item_vectors(self):
        """(n_items, dim) representation of every item."""
        vectors = self.item_embedding * ops.expand_dims(self.item_known, 1)
        if self.use_content:
            vectors = vectors + ops.matmul(self.content, self.content_kernel)
        return vectors

    def encode(self, items, kinds, training=False):
        """(B, L, dim) state after each position of the windows."""
        items, kinds = ops.cast(items, "int32"), ops.cast(kinds, "int32")
        vectors = self.item_vectors()
        valid = ops.not_equal(kinds, 0)
        x = ops.take(vectors, items, axis=0) + ops.take(self.kind_embedding, kinds, axis=0)
        x = x * ops.expand_dims(ops.cast(valid, x.dtype), -1)
        # Variables stay float32; under mixed precision the blocks compute in float16.
        x = self.input_dropout(ops.cast(x, self.compute_dtype), training=training)
        return self.encoder(x, valid, training=training)

    def call(self, inputs, training=False):
        states = ops.cast(self.encode(inputs[0], inputs[1], training=training), "float32")
        vectors = ops.cast(self.item_vectors(), "float32")
        if len(inputs) == 2:
            return ops.einsum("bld,nd->bln", states, vectors)
        targets, negatives = ops.cast(inputs[2], "int32"), ops.cast(inputs[3], "int32")
        positive = ops.sum(states * ops.take(vectors, targets, axis=0), axis=-1, keepdims=True)
        negative = ops.einsum("bld,bnd->bln", states, ops.take(vectors, negatives, axis=0))
        accidental = ops.equal(ops.expand_dims(targets, -1), ops.expand_dims(negatives, 1))
        negative = ops.where(accidental, MASKED, negative)
        return ops.concatenate([positive, negative], axis=-1)


def export_weights(model: SequenceRecommender) -> dict[str, np.ndarray]:
    """The serving weights (name -> float32 array) under the names `serving` reads."""
    out = {
        "item_embedding": model.item_embedding,
        "item_known": model.item_known,
        "kind_embedding": model.kind_embedding,
    }
    if model.use_content:
        out["content"] = model.content
        out["content_kernel"] = model.content_kernel
    encoder = model.encoder
    if isinstance(encoder, AttentionEncoder):
        out["position_embedding"] = encoder.position_embedding
        out["final_norm/gamma"] = encoder.final_norm.gamma
        out["final_norm/beta"] = encoder.final_norm.beta
        for b, block in enumerate(encoder.blocks):
            for norm in ("norm1", "norm2"):
                out[f"block{b}/{norm}/gamma"] = getattr(block, norm).gamma
                out[f"block{b}/{norm}/beta"] = getattr(block, norm).beta
            for dense in ("query", "key", "value", "out", "ffn1", "ffn2"):
                out[f"block{b}/{dense}/kernel"] = getattr(block, dense).kernel
                out[f"block{b}/{dense}/bias"] = getattr(block, dense).bias
    else:
        for g, gru in enumerate(encoder.grus):
            out[f"gru{g}/kernel"] = gru.cell.kernel
            out[f"gru{g}/recurrent_kernel"] = gru.cell.recurrent_kernel
            out[f"gru{g}/bias"] = gru.cell.bias
    return {
        name: np.asarray(ops.convert_to_numpy(value), dtype=np.float32)
        for name, value in out.items()
    }
