"""Re-evaluate a stored model version on its own held-out photos (imports TensorFlow)."""

import numpy as np

from catalog import selectors as catalog_selectors

from ..ml.embedder import get_embedder
from ..models import ModelVersion
from . import protocols
from .datasets import SPLITS
from .labels import label_for
from .photo_block import block_stack
from .pipeline import training_config
from .protocol_queries import unmeasured_protocols
from .training_photos import photos_decode

ERROR_REFIT = (
    "v{pk} was refit on every photo after model selection, so its held-out photos are no longer "
    "held out: its figures stand as measured in training (each table says whose)"
)


class RefitVersion(ValueError):
    """The served model trained on the held-out photos; re-scoring it would flatter it."""


class _EmbedderModel:
    """Lets the exported artifact stand where evaluation expects a Keras-callable model."""

    def __init__(self, embedder):
        self.embedder = embedder

    def __call__(self, images, training=False):
        return self.embedder.embed(np.asarray(images, dtype=np.uint8))


def model_version_evaluate(*, version: ModelVersion) -> dict:
    """Score the served model and the baselines on both protocols' held-out photos; store them.

    Raises RefitVersion for a version refit after model selection: its served model trained
    on every photo, so its stored figures (the selection run's, and a refit's without the
    known-products queries) stand.
    """
    if version.metrics.get("evaluation", {}).get("refit_on_all"):
        raise RefitVersion(ERROR_REFIT.format(pk=version.pk))
    arrays, labels = _held_out_splits(version)
    results = protocols.evaluate_protocols(
        model=_EmbedderModel(get_embedder(version.artifact_dir)),
        config=training_config(version),
        arrays=arrays,
        labels=labels,
        metric=version.metric,
    )
    metrics = protocols.version_metrics(
        results,
        protocols.protocol_setting(),
        refit=False,
        unmeasured=unmeasured_protocols(arrays, labels),
    )
    version.metrics = {**_without_held_out_rows(version.metrics), **metrics}
    version.save(update_fields=["metrics"])
    return metrics


def _without_held_out_rows(metrics: dict) -> dict:
    """The stored metrics less the last evaluation's rows (model and baselines, at the top level
    for the deciding protocol): a run that measures less must not leave them standing as its
    own. What evaluation does not produce stays: the text tower's text→image figures."""
    rows = {"model", *(row for table in metrics.get("protocols", {}).values() for row in table)}
    return {key: value for key, value in metrics.items() if key not in rows}


def _held_out_splits(version: ModelVersion) -> tuple[dict, dict]:
    """The catalogue's images in the version's snapshot splits (new images count as train; a
    photo that no longer decodes is left out, as in training)."""
    split_of = {
        image_id: split
        for split in SPLITS
        if split != "train"
        for image_id in version.dataset.get(f"{split}_image_ids", [])
    }
    records, _, decoded = photos_decode(catalog_selectors.image_records(), size=version.input_size)
    names = sorted({label_for(r, version.label_source) for r in records})
    code = {name: index for index, name in enumerate(names)}
    chosen = {split: [] for split in SPLITS}
    for record in records:
        chosen[split_of.get(record.image_id, "train")].append(record)
    labels = {
        split: np.array([code[label_for(r, version.label_source)] for r in rows], dtype=np.int64)
        for split, rows in chosen.items()
    }
    return block_stack(decoded, chosen, size=version.input_size), labels
