"""Score a trained model and three baselines on the same held-out queries (imports TensorFlow).

Baselines: a colour histogram (the classic hand-crafted approach), the backbone's pooled
features without any training on this catalogue, and the same architecture randomly initialised.
Queries are the test split; the gallery is the whole snapshot with the queries first, so
`exclude_self` removes each query's own image.
"""

import numpy as np

from ..ml import evaluation as ml_evaluation
from ..ml.backbones import build_backbone, build_embedding_model
from ..ml.training import TrainingConfig, embed_arrays


def _scores(query_vectors, query_labels, gallery_vectors, gallery_labels, metric) -> dict:
    return ml_evaluation.retrieval_metrics(
        query_vectors,
        query_labels,
        gallery_vectors,
        gallery_labels,
        metric=metric,
        exclude_self=True,
    ).as_dict()


def evaluate_all(
    *,
    model,
    config: TrainingConfig,
    queries: np.ndarray,
    query_labels: np.ndarray,
    gallery: np.ndarray,
    gallery_labels: np.ndarray,
    metric: str,
) -> dict[str, dict]:
    """{"model": {...}, "colour_histogram": {...}, "backbone_untrained": {...},
    "random_init": {...}}, each with recall_at_1/5/10, precision_at_10, map_at_10, ndcg_at_10."""
    count = len(queries)
    results = {}
    vectors = embed_arrays(model, gallery)
    results["model"] = _scores(vectors[:count], query_labels, vectors, gallery_labels, metric)
    histograms = ml_evaluation.colour_histograms(gallery)
    results["colour_histogram"] = _scores(
        histograms[:count], query_labels, histograms, gallery_labels, "cosine"
    )
    backbone = build_backbone(config.backbone, input_size=config.input_size, weights=config.weights)
    features = embed_arrays(backbone.model, gallery)
    results["backbone_untrained"] = {
        **_scores(features[:count], query_labels, features, gallery_labels, "cosine"),
        "weights": backbone.weights_used,
    }
    random_model = build_embedding_model(
        build_backbone(config.backbone, input_size=config.input_size, weights="none"),
        embedding_dim=config.embedding_dim,
    )
    random_vectors = embed_arrays(random_model, gallery)
    results["random_init"] = _scores(
        random_vectors[:count], query_labels, random_vectors, gallery_labels, metric
    )
    return results
