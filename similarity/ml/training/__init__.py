"""Metric learning on the shop's own catalogue.

Batches hold P labels × K images (labels are variant groups or categories). A label with fewer
than K images repeats them, and augmentation makes the repeats two different views, so products
without any label partner still learn. The loss is supervised contrastive (Khosla et al. 2020)
over all in-batch pairs. A pretrained backbone is first frozen while the head warms up, then its
top layers are fine-tuned at a lower rate; early stopping watches validation Recall@1, and
BackupAndRestore checkpoints every epoch so a killed job resumes where it stopped.
"""

from .config import ProgressCallback, TrainingCancelled, TrainingConfig, TrainingResult
from .data import augmentation, embed_arrays, pk_batches
from .loop import train
from .losses import supervised_contrastive_loss

__all__ = [
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
