"""The sequence encoders' forward pass in NumPy, one history at a time (no TensorFlow).

Mirrors `model` (Keras) step for step; `serving.SequenceScorer` calls it and
tests/behaviour/ml/test_sequence_export.py holds both to a tolerance.
"""

import numpy as np

from .config import SequenceConfig

# The same constants as `model` (which imports Keras, so they are repeated, not imported).
MASKED = -1e9
LN_EPSILON = 1e-6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gru_last(x: np.ndarray, w: dict[str, np.ndarray], layers: int) -> np.ndarray:
    """Keras GRU (reset_after=True, gates z, r, h) over (L, dim) inputs: the last state."""
    for g in range(layers):
        kernel, recurrent = w[f"gru{g}/kernel"], w[f"gru{g}/recurrent_kernel"]
        input_bias, recurrent_bias = w[f"gru{g}/bias"]
        units = recurrent.shape[0]
        state = np.zeros(units, dtype=np.float32)
        inputs = x @ kernel + input_bias  # (L, 3 units), all steps at once
        outputs = []
        for step in inputs:
            inner = state @ recurrent + recurrent_bias
            z = _sigmoid(step[:units] + inner[:units])
            r = _sigmoid(step[units : 2 * units] + inner[units : 2 * units])
            candidate = np.tanh(step[2 * units :] + r * inner[2 * units :])
            state = z * state + (1.0 - z) * candidate
            outputs.append(state)
        x = np.stack(outputs)
    return x[-1].astype(np.float32)


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + LN_EPSILON) * gamma + beta


def attention_last(x: np.ndarray, w: dict[str, np.ndarray], config: SequenceConfig) -> np.ndarray:
    """Pre-norm causal self-attention over (L, dim) real events: the state after the last one.

    Positions are those of the events' slots at the end of a left-padded window, as in
    training; padding keys are masked there, so leaving them out here gives the same result.
    Only the last position's output is wanted, so the last block computes that row alone (its
    keys and values still come from every event): the same result at a fraction of the work.
    """
    length, heads = len(x), config.heads
    head_dim = config.dim // heads
    x = x + w["position_embedding"][config.max_len - length :]
    causal = np.tril(np.ones((length, length), dtype=bool))
    for b in range(config.layers):
        p = f"block{b}/"
        rows = slice(length - 1, length) if b == config.layers - 1 else slice(None)
        h = _layer_norm(x, w[p + "norm1/gamma"], w[p + "norm1/beta"])
        q = _heads(h[rows] @ w[p + "query/kernel"] + w[p + "query/bias"], heads, head_dim)
        k = _heads(h @ w[p + "key/kernel"] + w[p + "key/bias"], heads, head_dim)
        v = _heads(h @ w[p + "value/kernel"] + w[p + "value/bias"], heads, head_dim)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)  # (heads, rows, L)
        scores = np.where(causal[rows], scores, MASKED)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attention = scores / scores.sum(axis=-1, keepdims=True)
        attended = (attention @ v).transpose(1, 0, 2).reshape(-1, config.dim)
        x = x[rows] + attended @ w[p + "out/kernel"] + w[p + "out/bias"]
        h = _layer_norm(x, w[p + "norm2/gamma"], w[p + "norm2/beta"])
        h = np.maximum(h @ w[p + "ffn1/kernel"] + w[p + "ffn1/bias"], 0.0)
        x = x + h @ w[p + "ffn2/kernel"] + w[p + "ffn2/bias"]
    x = _layer_norm(x, w["final_norm/gamma"], w["final_norm/beta"])
    return x[-1].astype(np.float32)


def _heads(x: np.ndarray, heads: int, head_dim: int) -> np.ndarray:
    """(rows, dim) → (heads, rows, head_dim)."""
    return x.reshape(len(x), heads, head_dim).transpose(1, 0, 2)
