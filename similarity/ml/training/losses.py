"""The supervised contrastive loss (Khosla et al. 2020) over all in-batch pairs."""

from collections.abc import Callable

from keras import ops


def supervised_contrastive_loss(temperature: float) -> Callable:
    """SupCon loss: y_true (batch,) integer labels, y_pred (batch, d) L2-normalised vectors."""

    def loss(y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        vectors = ops.cast(y_pred, "float32")
        logits = ops.matmul(vectors, ops.transpose(vectors)) / temperature
        size = ops.shape(logits)[0]
        not_self = 1.0 - ops.eye(size)
        positives = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32") * not_self
        # Subtract the row max for numerical stability; it cancels in the log-softmax.
        logits = logits - ops.stop_gradient(ops.max(logits, axis=1, keepdims=True))
        exp_logits = ops.exp(logits) * not_self
        log_prob = logits - ops.log(ops.sum(exp_logits, axis=1, keepdims=True) + 1e-12)
        positive_count = ops.sum(positives, axis=1)
        mean_log_prob = ops.sum(positives * log_prob, axis=1) / ops.maximum(positive_count, 1.0)
        has_positive = ops.cast(positive_count > 0, "float32")
        return -ops.sum(mean_log_prob * has_positive) / ops.maximum(ops.sum(has_positive), 1.0)

    return loss
