"""Metric learning on the shop's own catalogue.

Batches hold P labels × K images (labels are variant groups or categories). A label with fewer
than K images repeats them, and augmentation makes the repeats two different views, so products
without any label partner still learn. The loss is supervised contrastive (Khosla et al. 2020)
over all in-batch pairs by default (multi-similarity and proxy-anchor are the measured
alternatives). A pretrained backbone is first frozen while the head warms up, then its
top layers are fine-tuned at a lower rate; early stopping watches validation Recall@1, and
BackupAndRestore checkpoints every epoch so a killed job resumes where it stopped. Without
validation images (the refit on every product) it trains the configured epochs.
"""

from .augment import AUGMENTATIONS, augmentation
from .config import ProgressCallback, TrainingCancelled, TrainingConfig, TrainingResult, Validation
from .data import embed_arrays, pk_batches
from .loop import train
from .losses import (
    LOSSES,
    multi_similarity_loss,
    proxy_anchor_loss,
    supervised_contrastive_loss,
)

__all__ = [
    "AUGMENTATIONS",
    "LOSSES",
    "Validation",
    "multi_similarity_loss",
    "proxy_anchor_loss",
    "ProgressCallback",
    "TrainingCancelled",
    "TrainingConfig",
    "TrainingResult",
    "augmentation",
    "embed_arrays",
    "pk_batches",
    "supervised_contrastive_loss",
    "train",
]
