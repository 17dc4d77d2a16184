"""Metric-learning losses over a batch of L2-normalised vectors and integer labels.

Three were compared on grocery shelf photos (docs/BENCHMARKS.md, grocery section):
supervised contrastive (Khosla et al. 2020), multi-similarity (Wang et al. 2019) and
proxy-anchor (Kim et al. 2020). Pair losses take (labels, vectors); proxy-anchor also needs one
learnable proxy per label, which `ProxySimilarities` appends to the model's output.
"""

from collections.abc import Callable

import keras
from keras import ops

from ..options import LOSSES

ERROR_UNKNOWN_LOSS = "unknown loss {name!r}; choose one of: {choices}"


def _pairs(y_true, y_pred):
    """Labels (b,), vectors (b, d) as float32, the cosine matrix and the positive/negative masks."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    vectors = ops.cast(y_pred, "float32")
    similarity = ops.matmul(vectors, ops.transpose(vectors))
    not_self = 1.0 - ops.eye(ops.shape(similarity)[0])
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32")
    return similarity, same * not_self, (1.0 - same)


def supervised_contrastive_loss(temperature: float) -> Callable:
    """SupCon loss: y_true (batch,) integer labels, y_pred (batch, d) L2-normalised vectors."""

    def loss(y_true, y_pred):
        similarity, positives, _ = _pairs(y_true, y_pred)
        not_self = 1.0 - ops.eye(ops.shape(similarity)[0])
        logits = similarity / temperature
        # Subtract the row max for numerical stability; it cancels in the log-softmax.
        logits = logits - ops.stop_gradient(ops.max(logits, axis=1, keepdims=True))
        exp_logits = ops.exp(logits) * not_self
        log_prob = logits - ops.log(ops.sum(exp_logits, axis=1, keepdims=True) + 1e-12)
        positive_count = ops.sum(positives, axis=1)
        mean_log_prob = ops.sum(positives * log_prob, axis=1) / ops.maximum(positive_count, 1.0)
        has_positive = ops.cast(positive_count > 0, "float32")
        return -ops.sum(mean_log_prob * has_positive) / ops.maximum(ops.sum(has_positive), 1.0)

    return loss


def multi_similarity_loss(
    alpha: float = 2.0, beta: float = 50.0, threshold: float = 0.5, margin: float = 0.1
) -> Callable:
    """Multi-similarity loss (the paper's values): soft weighting of mined pairs, where a
    positive counts if it is less similar than the hardest negative + margin, and a negative if
    it is more similar than the easiest positive - margin. Same inputs as the SupCon loss."""

    def loss(y_true, y_pred):
        similarity, positives, negatives = _pairs(y_true, y_pred)
        big = 1e4  # pushes masked-out entries out of min/max without inf arithmetic
        hardest_negative = ops.max(similarity * negatives - big * (1 - negatives), axis=1)
        easiest_positive = ops.min(similarity * positives + big * (1 - positives), axis=1)
        mined_pos = positives * ops.cast(similarity - margin < hardest_negative[:, None], "float32")
        mined_neg = negatives * ops.cast(similarity + margin > easiest_positive[:, None], "float32")
        pos_term = ops.log1p(ops.sum(mined_pos * ops.exp(-alpha * (similarity - threshold)), 1))
        neg_term = ops.log1p(ops.sum(mined_neg * ops.exp(beta * (similarity - threshold)), 1))
        return ops.mean(pos_term / alpha + neg_term / beta)

    return loss


def proxy_anchor_loss(labels_count: int, alpha: float = 32.0, margin: float = 0.1) -> Callable:
    """Proxy-anchor loss. y_pred is (batch, d + labels_count): the vectors, then each vector's
    cosine to every label's proxy (from `ProxySimilarities`). Labels are 0..labels_count-1."""

    def loss(y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        cosines = ops.cast(y_pred[:, -labels_count:], "float32")
        positive = ops.one_hot(labels, labels_count)
        negative = 1.0 - positive
        pos_sum = ops.sum(positive * ops.exp(-alpha * (cosines - margin)), axis=0)
        neg_sum = ops.sum(negative * ops.exp(alpha * (cosines + margin)), axis=0)
        present = ops.cast(ops.sum(positive, axis=0) > 0, "float32")
        pos_term = ops.sum(present * ops.log1p(pos_sum)) / ops.maximum(ops.sum(present), 1.0)
        return pos_term + ops.sum(ops.log1p(neg_sum)) / labels_count

    return loss


class ProxySimilarities(keras.layers.Layer):
    """Appends each vector's cosine to one learnable proxy per label: (b, d) → (b, d + labels)."""

    def __init__(self, labels_count: int, **kwargs):
        super().__init__(**kwargs)
        self.labels_count = labels_count

    def build(self, input_shape):
        # The paper's initialisation; proxies learn 100x faster than the backbone there.
        self.proxies = self.add_weight(
            shape=(self.labels_count, input_shape[-1]), initializer="he_normal", name="proxies"
        )

    def call(self, vectors):
        proxies = ops.normalize(self.proxies, axis=-1)
        return ops.concatenate([vectors, ops.matmul(vectors, ops.transpose(proxies))], axis=-1)


def loss_for(name: str, *, temperature: float, labels_count: int) -> Callable:
    """The named loss (one of LOSSES) with its configured parameters."""
    if name == "supcon":
        return supervised_contrastive_loss(temperature)
    if name == "multi_similarity":
        return multi_similarity_loss()
    if name == "proxy_anchor":
        return proxy_anchor_loss(labels_count)
    raise ValueError(ERROR_UNKNOWN_LOSS.format(name=name, choices=", ".join(LOSSES)))
