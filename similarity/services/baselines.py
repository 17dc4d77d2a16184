"""Score a trained model and three baselines on the same held-out queries (imports TensorFlow).

Baselines: a colour histogram (the classic hand-crafted approach), the backbone's pooled
features without any training on this catalogue, and the same architecture randomly initialised.
Every row embeds the images once; each protocol then ranks its gallery for its queries
(`protocols.evaluate_protocols`).
"""

from collections.abc import Callable

import numpy as np

from ..ml import evaluation as ml_evaluation
from ..ml.backbones import build_backbone, build_embedding_model
from ..ml.training import TrainingConfig, embed_arrays

ROWS = ("model", "colour_histogram", "backbone_untrained", "random_init")


def frozen_features(config: TrainingConfig, images: np.ndarray) -> tuple[np.ndarray, str]:
    """The configured backbone's pooled features, untrained here, and the weights it loaded."""
    backbone = build_backbone(config.backbone, input_size=config.input_size, weights=config.weights)
    return embed_arrays(backbone.model, images), backbone.weights_used


def row_vectors(*, model, config: TrainingConfig, images: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's vectors of `images` (uint8 (n, s, s, 3)): {row name: float (n, d)}."""
    frozen, _ = frozen_features(config, images)
    random_model = build_embedding_model(
        build_backbone(config.backbone, input_size=config.input_size, weights="none"),
        embedding_dim=config.embedding_dim,
    )
    return {
        "model": embed_arrays(model, images),
        "colour_histogram": ml_evaluation.colour_histograms(images),
        "backbone_untrained": frozen,
        "random_init": embed_arrays(random_model, images),
    }


Scorer = Callable[[np.ndarray, str], dict]  # (row vectors, metric) → metrics dict


def score_rows(vectors: dict[str, np.ndarray], scorer: Scorer, metric: str) -> dict[str, dict]:
    """{row: metrics} with `scorer`; the model and random rows use the version's metric, the
    histogram and frozen features cosine (what they are compared with everywhere)."""
    return {
        name: scorer(values, metric if name in ("model", "random_init") else "cosine")
        for name, values in vectors.items()
    }
