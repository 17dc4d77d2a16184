"""What a training run is given, what it returns, and how it reports and stops."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from ..evaluation.protocols import validation_gallery


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that determines a training run (stored on the model version)."""

    backbone: str = "mobilenet_v2"
    weights: str = "auto"
    input_size: int = 224
    embedding_dim: int = 256
    epochs: int = 8  # grocery shelf photos: validation R@1 levels off by epoch 6-7 (BENCHMARKS)
    warmup_epochs: int = 1  # head-only epochs before fine-tuning a pretrained backbone
    labels_per_batch: int = 8  # P
    images_per_label: int = 4  # K: 32-image batches fit a 2-core CPU and an 8 GB GPU alike
    learning_rate: float = 1e-3
    finetune_learning_rate: float = 1e-4
    finetune_fraction: float = 0.5  # share of backbone layers unfrozen after warm-up (measured)
    # phases.SCHEDULES: the last phase's learning rate, held ("constant") or decayed to zero
    # along a half cosine ("cosine"), so the epoch a refit ends on is not one of the swings a
    # constant rate leaves between epochs.
    learning_rate_schedule: str = "constant"
    temperature: float = 0.1  # SupCon paper's value for small batches
    patience: int = 3
    seed: int = 1234
    steps_per_epoch: int | None = None  # default: one pass over the training images, but...
    # ...at least this many images: a small catalogue's epoch repeats its photos (each time
    # augmented anew). One pass over 31 studio photos is a single step per epoch, and trained
    # that little, shelf-photo search fell below the untrained backbone (docs/BENCHMARKS.md,
    # grocery, a studio-only shop). Catalogues of this size or more are not affected.
    min_epoch_images: int = 800
    # augment.AUGMENTATIONS. "basic" by measurement on both image dev sets side by side: on
    # grocery shelf photos it equals "phone" (R@1 0.892 vs 0.891), on clothing "phone" costs
    # R@1 0.895 -> 0.866 (docs/BENCHMARKS.md). "phone" stays selectable.
    augmentation: str = "basic"
    loss: str = "supcon"  # losses.LOSSES; measured best of the three on grocery shelf photos
    # After selection, train again on every product (services.refits): once without the
    # known-products queries to score them, then on every photo, the model served.
    refit_on_all: bool = True
    # How many refits, each from its own seed, the served vector puts side by side
    # (ml.side_by_side): on both image dev sets two beat one on validation (docs/BENCHMARKS.md,
    # quality-clothing). Each costs one more refit, and the served vector grows by
    # embedding_dim; 1 serves a single refit.
    refit_models: int = 2

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    """What early stopping watches: query images and labels, and the gallery they are ranked
    in (None: leave-one-out within the queries)."""

    images: np.ndarray
    labels: np.ndarray
    gallery_images: np.ndarray | None = None
    gallery_labels: np.ndarray | None = None

    @classmethod
    def known_products(
        cls,
        images: np.ndarray,
        labels: np.ndarray,
        training: np.ndarray,
        training_labels: np.ndarray,
    ) -> "Validation":
        """Held-out photos ranked among the training photos of their labels, at most
        `VAL_GALLERY_PER_LABEL` per label and `VAL_GALLERY_TOTAL` in all, their own labels'
        first (`validation_gallery`): each epoch embeds them."""
        gallery = validation_gallery(training_labels, query_labels=labels)
        return cls(images, labels, training[gallery], training_labels[gallery])


@dataclass
class TrainingResult:
    model: keras.Model  # the embedding model: image in [0, 255] → L2-normalised vector
    weights_used: str
    history: list[dict] = field(default_factory=list)
    best_val_recall_at_1: float | None = None
    seconds: float = 0.0


class TrainingCancelled(Exception):
    """The caller asked to stop (e.g. the admin pressed cancel)."""


ProgressCallback = Callable[[dict], None]
