"""Re-evaluate a stored model version on its own held-out split (imports TensorFlow)."""

import numpy as np

from catalog import selectors as catalog_selectors

from ..ml.embedder import get_embedder
from ..models import ModelVersion
from . import baselines
from .datasets import label_for
from .pipeline import load_images, training_config


class _EmbedderModel:
    """Lets the exported artifact stand where evaluation expects a Keras-callable model."""

    def __init__(self, embedder):
        self.embedder = embedder

    def __call__(self, images, training=False):
        return self.embedder.embed(np.asarray(images, dtype=np.uint8))


def model_version_evaluate(*, version: ModelVersion) -> dict:
    """Score the version and the baselines on the queries it was evaluated on; store them."""
    test_ids = set(version.dataset.get("test_image_ids", []))
    records = catalog_selectors.image_records()
    queries = [record for record in records if record.image_id in test_ids]
    gallery = queries + [record for record in records if record.image_id not in test_ids]
    names = {
        name: index
        for index, name in enumerate(sorted({label_for(r, version.label_source) for r in gallery}))
    }
    labels = np.array([names[label_for(r, version.label_source)] for r in gallery])
    images = load_images(gallery, version.input_size)
    metrics = baselines.evaluate_all(
        model=_EmbedderModel(get_embedder(version.artifact_dir)),
        config=training_config(version),
        queries=images[: len(queries)],
        query_labels=labels[: len(queries)],
        gallery=images,
        gallery_labels=labels,
        metric=version.metric,
    )
    version.metrics = {**version.metrics, **metrics}  # keeps the text→image figures
    version.save(update_fields=["metrics"])
    return metrics
