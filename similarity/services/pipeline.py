"""The training pipeline of one model version, run by the `ml` worker (imports TensorFlow).

snapshot → hold out photos (two protocols) → train (model selection) → evaluate against
baselines → refit on every product (default, services.refits: the known-products queries stay
out, and those refits are scored on them; then on every photo, `refit_models` of them from their
own seeds, served side by side) → export → embed every image → build the HNSW index →
ready (or active, when auto-activation is on and the version beats the active one).
The active version keeps serving throughout; a failure marks only this version failed.
"""

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from catalog import selectors as catalog_selectors
from core.jobs import ProgressWriter

from .. import vector_store
from ..ml.artifacts import CHECKPOINT_DIR
from ..ml.preprocessing import PREPROCESSING_VERSION
from ..ml.training import TrainingConfig, TrainingResult
from ..models import Job, ModelVersion
from . import protocols
from .auto_activation import auto_activate
from .datasets import catalogue_snapshot
from .embedding import images_embed, images_to_embed
from .jobs import ML_JOBS
from .photo_block import block_stack
from .protocol_queries import unmeasured_protocols
from .refits import Splits, refits, scored_refit_metrics, training_run
from .text_tower import text_tower_train
from .training_notes import evaluation_notes, training_notes
from .training_photos import photos_decode
from .versions import ERROR_INTERRUPTED

logger = logging.getLogger(__name__)


SNAPSHOT_FILE = "snapshot.sha256"  # beside the checkpoints: the split they were trained on
TRAINING_FIELDS = set(TrainingConfig.__dataclass_fields__)


def _set_status(version: ModelVersion, status: str, **fields) -> None:
    version.status = status
    for name, value in fields.items():
        setattr(version, name, value)
    version.save(update_fields=["status", *fields])


def _progress_writer(job: Job) -> ProgressWriter[dict]:
    """Merges each report into the job's progress, writes it, then checks the cancel flag. A new
    phase starts without an ETA until it reports its own: the last one's (0 s at the selection
    run's last epoch) would stand through evaluation, both refits and the embedding."""

    def write(progress: dict) -> None:
        if progress.get("phase", job.progress.get("phase")) != job.progress.get("phase"):
            progress = {"eta_s": None, **progress}
        job.progress = {**job.progress, **progress}
        Job.objects.filter(pk=job.pk).update(progress=job.progress)

    return ProgressWriter(job, write=write)


def training_config(version: ModelVersion) -> TrainingConfig:
    params = {key: value for key, value in version.params.items() if key in TRAINING_FIELDS}
    # What the version's vector length was fixed by (versions from before the option: one).
    params["refit_models"] = version.served_models
    return TrainingConfig(
        backbone=version.backbone,
        weights=version.weights,
        input_size=version.input_size,
        embedding_dim=version.embedding_dim,
        **params,
    )


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Records the block's seconds under `key` if it completes (timings of a whole run only)."""
    clock = time.monotonic()
    yield
    timings[key] = round(time.monotonic() - clock, 1)


TRAINED = (ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.ARCHIVED)


def model_version_train(*, job: Job) -> ModelVersion:
    """Run the whole pipeline for job.model_version; safe to rerun after a crash. Raises
    JobCancelled at the first progress report after an admin's cancel request."""
    version = job.model_version
    if version.status in TRAINED:
        return _trained_already(version, job)
    config = training_config(version)
    report = _progress_writer(job)
    timings: dict[str, float] = dict(version.timings)
    with _timed(timings, "load_s"):
        arrays, labels = _load_dataset(version, config)
    protocol = protocols.protocol_setting()
    with _timed(timings, "train_s"):
        result = _train_model(version, config, arrays, labels, report, protocol)
    _log(job, *training_notes(version.dataset, config, result))
    _set_status(
        version,
        ModelVersion.Status.EVALUATING,
        weights_used=result.weights_used,
        history=result.history,
    )
    with _timed(timings, "evaluate_s"):
        report({"phase": "evaluating"})
        metrics = _evaluate(version, config, result, arrays, labels, protocol)
    _set_status(version, ModelVersion.Status.EVALUATING, metrics=metrics)
    _log(job, *evaluation_notes(metrics))
    if config.refit_on_all:
        with _timed(timings, "refit_s"):
            if len(arrays["known_test"]):
                run = (version, config, result, arrays, labels, report)
                metrics = scored_refit_metrics(*run, metrics=metrics, protocol=protocol)
            result = refits(version, config, result, arrays, labels, report)
        _set_status(version, ModelVersion.Status.EVALUATING, metrics=metrics)
    _set_status(version, ModelVersion.Status.EMBEDDING)
    with _timed(timings, "export_s"):
        report({"phase": "exporting"})
        _export(version, config, result, metrics, check_images=arrays["train"])
    with _timed(timings, "embed_s"):
        records = images_to_embed(version=version, only_missing=True)
        images_embed(
            version=version,
            records=records,
            progress=lambda state: report({"phase": "embedding", **state.as_dict()}),
        )
    with _timed(timings, "index_s"):
        _set_status(version, ModelVersion.Status.INDEXING)
        report({"phase": "indexing"})
        vector_store.hnsw_index_build(version=version)
    if version.params.get("text_tower", True):
        with _timed(timings, "text_tower_s"):
            report({"phase": "text tower"})
            _train_text_tower(version)
    _set_status(version, ModelVersion.Status.READY, timings=timings)
    _activation_noted(job, version, auto_activate(version))
    return version


def _log(job: Job, *lines: str) -> None:
    """Appends `lines` to the job's log (the job page shows it)."""
    if lines:
        job.log += "".join(f"{line}\n" for line in lines)
        Job.objects.filter(pk=job.pk).update(log=job.log)


def _activation_noted(job: Job, version: ModelVersion, decision: str) -> None:
    if decision:
        logger.info("v%s %s", version.pk, decision)
        _log(job, decision)


def _trained_already(version: ModelVersion, job: Job) -> ModelVersion:
    """A delivery after the work was done (the worker died before it ended the job): retraining
    would take a serving version offline, and a failure would fail it. A ready one is activated
    if that was due, unless it has served already: an admin took it out of service since (a
    rollback), and that decision stands."""
    if version.status != ModelVersion.Status.READY:
        return version
    if version.auto_activate and version.activated_at is not None:
        decision = (
            f"left ready: it served from {version.activated_at:%Y-%m-%d %H:%M} UTC until "
            "another version was activated (a rollback stands); activate it by hand"
        )
    else:
        decision = auto_activate(version)
    _activation_noted(job, version, decision)
    return version


def _load_dataset(version: ModelVersion, config: TrainingConfig) -> tuple[Splits, Splits]:
    """The catalogue snapshot's images and labels per split; the version records the snapshot."""
    _set_status(version, ModelVersion.Status.TRAINING, preprocessing_version=PREPROCESSING_VERSION)
    size = config.input_size
    readable, unreadable, decoded = photos_decode(catalog_selectors.image_records(), size=size)
    snapshot = catalogue_snapshot(
        label_source=version.label_source,
        seed=config.seed,
        records=readable,
        unreadable_image_ids=tuple(unreadable),
    )
    arrays = block_stack(decoded, snapshot.records, size=size)
    labels = {split: np.array(snapshot.labels[split], dtype=np.int64) for split in arrays}
    protocols.hold_out_known_photos(snapshot, arrays, labels, config)
    version.dataset = snapshot.summary()
    version.label_source = snapshot.label_source
    version.save(update_fields=["dataset", "label_source"])
    _checkpoints_of_this_snapshot(version, version.dataset["sha256"])
    return arrays, labels


def _checkpoints_of_this_snapshot(version: ModelVersion, digest: str) -> None:
    """An earlier attempt's checkpoints resume this one only if it split the same photos: a
    product added or changed in between reshuffles the units, and the resumed model would be
    tested on photos it trained on (inflated figures, a wrong auto-activation). Otherwise they
    go, and training starts afresh; so do the vectors an earlier attempt embedded, which come
    from a model that is no longer exported (the embed step keeps the vectors it finds)."""
    folder = Path(version.artifact_dir) / CHECKPOINT_DIR
    marker = folder / SNAPSHOT_FILE
    if folder.exists() and marker.exists() and marker.read_text() == digest:
        return
    if folder.exists():
        shutil.rmtree(folder)
        logger.info("v%s: the catalogue changed since its last attempt: afresh", version.pk)
    vector_store.version_vectors_delete(version=version)
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest)


def _train_model(
    version: ModelVersion,
    config: TrainingConfig,
    arrays: Splits,
    labels: Splits,
    report: ProgressWriter[dict],
    protocol: str,
) -> TrainingResult:
    """Model selection: train on "train", early stopping on the protocol's validation photos."""
    return training_run(
        config,
        images=arrays["train"],
        labels=labels["train"],
        validation=protocols.validation_for(protocol, arrays, labels),
        checkpoint_dir=Path(version.artifact_dir) / CHECKPOINT_DIR,
        report=lambda entry: report({"phase": "training", **entry}),
        should_cancel=report.cancel_requested,
    )


def _evaluate(
    version: ModelVersion,
    config: TrainingConfig,
    result: TrainingResult,
    arrays: Splits,
    labels: Splits,
    protocol: str,
) -> dict:
    """Both protocols' figures for the model and the baselines (see services.protocols)."""
    results = protocols.evaluate_protocols(
        model=result.model, config=config, arrays=arrays, labels=labels, metric=version.metric
    )
    return protocols.version_metrics(
        results,
        protocol,
        refit=config.refit_on_all,
        unmeasured=unmeasured_protocols(arrays, labels),
    )


def _export(
    version: ModelVersion,
    config: TrainingConfig,
    result: TrainingResult,
    metrics: dict,
    *,
    check_images: np.ndarray,
) -> None:
    from ..ml.export import export_model

    export_model(
        result.model,
        directory=Path(version.artifact_dir),
        check_images=check_images[:8],
        metadata=_metadata(version, config, result, metrics),
    )


def _train_text_tower(version: ModelVersion) -> None:
    test_image_ids = set(version.dataset["test_image_ids"])
    metrics = text_tower_train(version=version, test_image_ids=test_image_ids)
    version.metrics = {**version.metrics, **metrics}
    version.save(update_fields=["metrics"])


def _metadata(version: ModelVersion, config: TrainingConfig, result, metrics: dict) -> dict:
    return {
        "model_version": version.pk,
        "backbone": version.backbone,
        "weights": version.weights,
        "weights_used": result.weights_used,
        "input_size": version.input_size,
        "embedding_dim": version.embedding_dim,
        "vector_dim": version.vector_dim,
        "metric": version.metric,
        "preprocessing_version": PREPROCESSING_VERSION,
        "label_source": version.label_source,
        "training": config.as_dict(),
        "dataset": version.dataset,
        "metrics": metrics,
        "train_seconds": round(result.seconds, 1),
    }


def job_run(*, job_id: int, max_attempts: int) -> Job | None:
    """Claim a train job, run it, and record the outcome; bounded attempts after crashes."""
    job = ML_JOBS.claim(job_id, max_attempts=max_attempts, kind=Job.Kind.TRAIN)
    if job is None or job.is_finished:
        return job
    try:
        return ML_JOBS.run(job, _train)
    except KeyboardInterrupt:
        # Ctrl-C in `train --here`, its documented stop: end the job as a cancel does (a version
        # still training fails); left running, the reaper would hand it to the ml worker.
        if not job.is_finished:
            ML_JOBS.end(job, state=Job.State.CANCELLED, error=ERROR_INTERRUPTED)
        raise


def _train(job: Job) -> None:
    model_version_train(job=job)
    # Otherwise the page of a finished job would name its last step ("text tower") as the phase.
    job.progress = {**job.progress, "phase": "done"}
    ML_JOBS.end(job, state=Job.State.SUCCEEDED, fields=["progress"])
