"""Validation Recall@k of sequence models on one time split, in product ids, so a new version
and the active one (trained on other data, with other item indices) are compared fairly."""

import logging

import numpy as np

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.artifacts import UNREADABLE
from behaviour.ml.sequence.serving import SequenceScorer

from ...models import SequenceModelVersion

logger = logging.getLogger(__name__)


def recall_at(
    scorer: SequenceScorer,
    vectors: np.ndarray,
    inputs: list[tuple[np.ndarray, np.ndarray]],
    targets: list[np.ndarray],
    *,
    k: int,
) -> float | None:
    """Mean over visitors of |top k ∩ targets| / |targets| (item indices of this model);
    None when no visitor has both a history and later purchases."""
    if not inputs:
        return None
    hits = []
    for (items, kinds), wanted in zip(inputs, targets, strict=True):
        scores = vectors @ scorer.visitor_vector(items, kinds)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        hits.append(len(np.intersect1d(top, wanted)) / len(wanted))
    return round(float(np.mean(hits)), 6)


def active_recall(
    product_ids: np.ndarray,
    inputs: list[tuple[np.ndarray, np.ndarray]],
    targets: list[np.ndarray],
    *,
    k: int,
) -> tuple[float | None, np.ndarray | None]:
    """The active version's Recall@k on this split, and which of `product_ids` it knows
    ((None, None) without one, or when its files cannot be read).

    Item indices of `product_ids` are mapped to its own; products it never knew drop out of
    histories, and out of the targets: bought in the validation window, a product added since
    it trained was a certain miss here, though serving places such products by their content,
    so the comparison favoured every newer version. Compare a candidate on the same targets
    (`known_targets`)."""
    active = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE).first()
    if active is None or not active.vectors_path:
        return None, None
    try:
        weights, config = artifacts.load(active.artifact_path)
        with np.load(active.vectors_path) as stored:
            old_ids, vectors = stored["product_ids"], stored["vectors"]
    except UNREADABLE as exc:
        # It serves without the sequence signal: any version that has one beats it.
        logger.error("active sequence version %s not measured: %s", active.pk, exc)
        return None, None
    position = {int(pid): index for index, pid in enumerate(old_ids)}
    knows = np.isin(product_ids, old_ids)

    def mapped(items: np.ndarray) -> np.ndarray:
        return np.array([position.get(int(product_ids[i]), -1) for i in items], dtype=np.int64)

    shared_inputs, shared_targets = known_targets(inputs, targets, knows)
    old_inputs = [(mapped(items), kinds) for items, kinds in shared_inputs]
    old_targets = [mapped(wanted) for wanted in shared_targets]
    recall = recall_at(SequenceScorer(weights, config), vectors, old_inputs, old_targets, k=k)
    return recall, knows


def known_targets(
    inputs: list[tuple[np.ndarray, np.ndarray]], targets: list[np.ndarray], knows: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """The visitors and their targets restricted to the items `knows` marks; visitors left
    with no target drop out."""
    kept = [
        (history, wanted[knows[wanted]]) for history, wanted in zip(inputs, targets, strict=True)
    ]
    kept = [(history, wanted) for history, wanted in kept if len(wanted)]
    return [history for history, _ in kept], [wanted for _, wanted in kept]
