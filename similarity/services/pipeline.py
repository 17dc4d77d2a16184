"""The training pipeline of one model version, run by the `ml` worker (imports TensorFlow).

snapshot → train → evaluate against baselines → export → embed every image → build the HNSW
index → ready (or active, when auto-activation is on and the version beats the active one).
The active version keeps serving throughout; a failure marks only this version failed.
"""

import logging
import time
from pathlib import Path

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from catalog import selectors as catalog_selectors
from prodsim_site.outages import DATABASE_OUTAGE

from .. import vector_store
from ..ml.artifacts import CHECKPOINT_DIR
from ..ml.preprocessing import PREPROCESSING_VERSION, load_image
from ..ml.training import TrainingCancelled, TrainingConfig, train
from ..models import Job, ModelVersion
from . import baselines
from .datasets import catalogue_snapshot
from .embedding import images_embed, images_to_embed
from .jobs import job_claim, job_fail
from .text_tower import text_tower_train
from .versions import ERROR_CANCELLED, active_version, model_version_activate

logger = logging.getLogger(__name__)

PRIMARY_METRIC = "recall_at_1"
TRAINING_FIELDS = set(TrainingConfig.__dataclass_fields__)


class JobCancelled(Exception):
    pass


def _set_status(version: ModelVersion, status: str, **fields) -> None:
    version.status = status
    for name, value in fields.items():
        setattr(version, name, value)
    version.save(update_fields=["status", *fields])


def _report(job: Job, **progress) -> None:
    job.progress = {**job.progress, **progress}
    Job.objects.filter(pk=job.pk).update(progress=job.progress)
    if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled()


def training_config(version: ModelVersion) -> TrainingConfig:
    params = {key: value for key, value in version.params.items() if key in TRAINING_FIELDS}
    return TrainingConfig(
        backbone=version.backbone,
        weights=version.weights,
        input_size=version.input_size,
        embedding_dim=version.embedding_dim,
        **params,
    )


def load_images(records, size: int) -> np.ndarray:
    """Preprocessed uint8 (n, size, size, 3) arrays of these images, in order."""
    images = [
        load_image(catalog_selectors.image_read(file_name=r.file_name), size=size) for r in records
    ]
    return np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)


def model_version_train(*, job: Job) -> ModelVersion:
    """Run the whole pipeline for job.model_version; safe to rerun after a crash."""
    version = job.model_version
    config = training_config(version)
    timings: dict[str, float] = dict(version.timings)
    clock = time.monotonic()
    _set_status(version, ModelVersion.Status.TRAINING, preprocessing_version=PREPROCESSING_VERSION)
    snapshot = catalogue_snapshot(label_source=version.label_source, seed=config.seed)
    arrays = {
        split: load_images(snapshot.records[split], config.input_size)
        for split in ("train", "val", "test")
    }
    labels = {split: np.array(snapshot.labels[split]) for split in arrays}
    version.dataset = snapshot.summary()
    version.label_source = snapshot.label_source
    version.save(update_fields=["dataset", "label_source"])
    timings["load_s"] = round(time.monotonic() - clock, 1)

    clock = time.monotonic()
    try:
        result = train(
            config,
            images=arrays["train"],
            labels=labels["train"],
            val_images=arrays["val"],
            val_labels=labels["val"],
            checkpoint_dir=Path(version.artifact_dir) / CHECKPOINT_DIR,
            progress=lambda entry: _report(job, phase="training", **entry),
            should_cancel=lambda: Job.objects.filter(pk=job.pk, cancel_requested=True).exists(),
        )
    except TrainingCancelled:
        raise JobCancelled() from None
    timings["train_s"] = round(time.monotonic() - clock, 1)
    job.log += f"weights: {result.weights_used}\n"
    Job.objects.filter(pk=job.pk).update(log=job.log)
    _set_status(
        version,
        ModelVersion.Status.EVALUATING,
        weights_used=result.weights_used,
        history=result.history,
    )

    clock = time.monotonic()
    _report(job, phase="evaluating")
    gallery = np.concatenate([arrays["test"], arrays["train"], arrays["val"]])
    gallery_labels = np.concatenate([labels["test"], labels["train"], labels["val"]])
    metrics = baselines.evaluate_all(
        model=result.model,
        config=config,
        queries=arrays["test"],
        query_labels=labels["test"],
        gallery=gallery,
        gallery_labels=gallery_labels,
        metric=version.metric,
    )
    timings["evaluate_s"] = round(time.monotonic() - clock, 1)
    _set_status(version, ModelVersion.Status.EMBEDDING, metrics=metrics)

    clock = time.monotonic()
    _report(job, phase="exporting")
    from ..ml.export import export_model

    export_model(
        result.model,
        directory=Path(version.artifact_dir),
        check_images=arrays["test"][:8],
        metadata=_metadata(version, config, result, metrics),
    )
    timings["export_s"] = round(time.monotonic() - clock, 1)

    clock = time.monotonic()
    records = images_to_embed(version=version, only_missing=True)
    images_embed(
        version=version,
        records=records,
        progress=lambda state: _report(job, phase="embedding", **state.as_dict()),
    )
    timings["embed_s"] = round(time.monotonic() - clock, 1)

    clock = time.monotonic()
    _set_status(version, ModelVersion.Status.INDEXING)
    _report(job, phase="indexing")
    vector_store.hnsw_index_build(version=version)
    timings["index_s"] = round(time.monotonic() - clock, 1)

    if version.params.get("text_tower", True):
        clock = time.monotonic()
        _report(job, phase="text tower")
        version.metrics = {
            **version.metrics,
            **text_tower_train(
                version=version, test_image_ids=set(version.dataset["test_image_ids"])
            ),
        }
        version.save(update_fields=["metrics"])
        timings["text_tower_s"] = round(time.monotonic() - clock, 1)
    _set_status(version, ModelVersion.Status.READY, timings=timings)
    _maybe_activate(version)
    return version


def _metadata(version: ModelVersion, config: TrainingConfig, result, metrics: dict) -> dict:
    return {
        "model_version": version.pk,
        "backbone": version.backbone,
        "weights": version.weights,
        "weights_used": result.weights_used,
        "input_size": version.input_size,
        "embedding_dim": version.embedding_dim,
        "metric": version.metric,
        "preprocessing_version": PREPROCESSING_VERSION,
        "label_source": version.label_source,
        "training": config.as_dict(),
        "dataset": version.dataset,
        "metrics": metrics,
        "train_seconds": round(result.seconds, 1),
    }


def _maybe_activate(version: ModelVersion) -> None:
    """Auto-activate when configured and the version beats the active one on Recall@1."""
    if not version.auto_activate:
        return
    current = active_version()
    mine = version.metrics.get("model", {}).get(PRIMARY_METRIC, 0.0)
    theirs = current.metrics.get("model", {}).get(PRIMARY_METRIC, 0.0) if current else -1.0
    if mine > theirs:
        model_version_activate(version=version)
    else:
        logger.info(
            "v%s (R@1 %.3f) does not beat active v%s (%.3f); left ready",
            version.pk,
            mine,
            current.pk,
            theirs,
        )


def job_run(*, job_id: int, max_attempts: int) -> Job | None:
    """Claim a train job, run it, and record the outcome; bounded attempts after crashes."""
    job = job_claim(job_id=job_id, kind=Job.Kind.TRAIN)
    if job is None or job.is_finished:
        return job
    if job.cancel_requested:  # asked to stop before this delivery: end it, train nothing
        return job_fail(job=job, error=ERROR_CANCELLED, state=Job.State.CANCELLED)
    if job.attempts > max_attempts:
        return job_fail(job=job, error=f"gave up after {max_attempts} interrupted attempts")
    try:
        model_version_train(job=job)
    except JobCancelled:
        return job_fail(job=job, error=ERROR_CANCELLED, state=Job.State.CANCELLED)
    except (SoftTimeLimitExceeded, *DATABASE_OUTAGE):
        raise  # the task's policy: a time-out ends the job as timed_out, an outage is retried
    except Exception as exc:  # the job boundary: any failure fails this version, never serving
        logger.exception("Training job %s failed", job.pk)
        return job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
    job.state, job.finished_at = Job.State.SUCCEEDED, timezone.now()
    # Otherwise the page of a finished job would name its last step ("text tower") as the phase.
    job.progress = {**job.progress, "phase": "done"}
    job.save(update_fields=["state", "finished_at", "progress"])
    return job
