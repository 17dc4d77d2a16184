"""Train a sequence model version as a job (core.jobs lifecycle) on the `ml` worker.

The events are split by time (the last 30 days validate, less for a short history; never a
random split); the model trains on the earlier ones with early stopping on validation Recall@20,
and the version keeps its weights, item vectors and figures. It is activated only when it beats
the active version on the same validation split (auto-activate), so a worse model never serves
by itself; with none active, the first version serves even when nothing could validate it.

TensorFlow is imported inside `_train` only: this module is safe in the web process and the
Celery parent (which records hard time limits).
"""

import logging
import os
import time
from collections.abc import Callable, Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.config import SequenceConfig
from behaviour.ml.sequence.data import histories_and_targets, target_kinds, time_split
from behaviour.ml.sequence.hybrid import HybridWeights, recall_of, tune_weights
from behaviour.ml.sequence.peers import Peers
from behaviour.ml.sequence.serving import SequenceScorer
from behaviour.ml.sequence.tuning_cases import validation_cases
from core.jobs import JobCancelled, JobLifecycle, ProgressWriter, job_end
from core.locks import SEQUENCE_ACTIVATIONS, turn_lock

from ...models import SequenceModelVersion, SequenceTrainingJob
from ..association_writes import VIEW_SHARE
from .dataset import TrainingData, sequences_of, training_data
from .peers import peers_first_build
from .validation import active_recall, known_targets, recall_at
from .vectors import SERVABLE
from .versions import (
    ERROR_CANCELLED,
    TRAINING_TASK,
    artifact_dir,
    sequence_vectors_store_or_log,
    sequence_version_activate,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
VALID_DAYS = 30  # the protocol's test window is two months; one month validates while learning
# A history shorter than 4 × VALID_DAYS validates on its last quarter: three quarters still teach
# (a 3-week shop: 5 days), and every history of 120 days or more keeps exactly VALID_DAYS (the
# online-retail bench's 9 months included, so its figures do not move).
VALID_SHARE = 0.25
SECONDS_PER_DAY = 86_400
ERROR_NO_EVENTS = "there are no events to learn from"
# One product leaves nothing to rank (events of inactive ones are not read, so with none there
# are no events), and Keras fails on it with kilobytes of graph dump.
ERROR_ONE_PRODUCT = "there is only one active product: a sequence model needs 2 or more to rank"
ERROR_SETTINGS = "its settings cannot train: {reason}"
ERROR_TIMED_OUT = "timed out after {seconds} s"
ERROR_TOO_MANY_ATTEMPTS = "gave up after {attempts} interrupted attempts"
ERROR_INTERRUPTED = "interrupted by Ctrl-C in manage.py train_behaviour"
# The "validation" figure of a version no visitor could measure (recall None).
UNVALIDATED = "none: no shopper of the validation window shopped before it"
UNVALIDATED_FIRST = UNVALIDATED + "; activated unmeasured, as no version was serving"


class SequenceJobLifecycle(JobLifecycle[SequenceTrainingJob]):
    """Any exception fails the job and its version (this is the task's boundary)."""

    model = SequenceTrainingJob
    error_cancelled = ERROR_CANCELLED
    error_too_many_attempts = ERROR_TOO_MANY_ATTEMPTS
    error_timed_out = ERROR_TIMED_OUT
    timed_out_state = SequenceTrainingJob.State.TIMED_OUT
    task = TRAINING_TASK  # what the job reaper (core.jobs) sends again for a lost delivery
    failures = (Exception,)

    def rows(self) -> QuerySet:
        return SequenceTrainingJob.objects.select_related("version")

    def end(self, job, *, state: str, error: str = "", fields: Iterable[str] = ()):
        job_end(job, state=state, error=error, fields=fields)
        version = job.version
        if state != SequenceTrainingJob.State.SUCCEEDED and version.status in (
            SequenceModelVersion.Status.QUEUED,
            SequenceModelVersion.Status.TRAINING,
        ):
            version.status, version.error = SequenceModelVersion.Status.FAILED, job.error
            version.save(update_fields=["status", "error"])
        return job

    def failure_error(self, job, exc: Exception) -> str:
        """The exception's first line: the job's and version's pages show it, and some (a
        TensorFlow graph error) go on for kilobytes of stack; the worker log keeps it whole."""
        logger.exception("%s failed", job)
        first_line = next(iter(str(exc).splitlines()), "")
        return f"{type(exc).__name__}: {first_line}"


SEQUENCE_JOBS = SequenceJobLifecycle()


def sequence_training_job_run(
    *, job_id: int, on_progress: Callable[[dict], object] | None = None
) -> SequenceTrainingJob | None:
    """Claim and run the job (on_progress: also told each progress report, e.g. a command's
    output); the job's row says how it ended."""
    job = SEQUENCE_JOBS.claim(job_id, max_attempts=MAX_ATTEMPTS)
    if job is None or job.is_finished:
        return job
    try:
        return SEQUENCE_JOBS.run(job, lambda job: _train(job, on_progress))
    except KeyboardInterrupt:
        # Ctrl-C in the command, its documented cancel: end the job as a cancel does (a version
        # still training fails), or it stays running until the reaper's next pass.
        if not job.is_finished:
            SEQUENCE_JOBS.end(
                job, state=SequenceTrainingJob.State.CANCELLED, error=ERROR_INTERRUPTED
            )
        raise


def sequence_training_time_out(*, job_id: int, seconds: float) -> SequenceTrainingJob | None:
    return SEQUENCE_JOBS.time_out(job_id, seconds=seconds)


def validation_cut(times: np.ndarray) -> int:
    """The first second of the validation window of events at `times` (Unix seconds, not
    empty): the last VALID_DAYS, or the last VALID_SHARE of a shorter history, which would
    otherwise fall in validation whole and leave no visitor to learn from."""
    latest = int(times.max())
    span = latest - int(times.min())
    return latest - min(VALID_DAYS * SECONDS_PER_DAY, int(span * VALID_SHARE))


def _train(job: SequenceTrainingJob, on_progress) -> None:
    from behaviour.ml.sequence.train import train_sequence_model  # TensorFlow: worker only

    # The budget counts from here, reading the events included: the task's soft limit leaves
    # only saving to what comes after it.
    deadline = time.monotonic() + settings.PRODSIM_SEQUENCE_TRAINING_BUDGET_S
    version = job.version
    if version.status in SERVABLE:
        _trained_already(version)
        return
    config = _training_config(version)
    progress = _progress_writer(job, on_progress)
    progress({"phase": "reading events"})
    found = training_data(until=job.created_at)
    if not found.data.n_events:
        raise ValueError(ERROR_NO_EVENTS)
    if len(found.product_ids) < 2:
        raise ValueError(ERROR_ONE_PRODUCT)
    valid_from = validation_cut(found.data.times)
    train, valid = time_split(found.data, valid_from)
    version.status = SequenceModelVersion.Status.TRAINING
    version.dataset = _dataset_summary(found, train, valid, valid_from)
    version.save(update_fields=["status", "dataset"])
    result = train_sequence_model(
        train,
        valid,
        found.content,
        config,
        on_epoch=lambda epoch, metrics: progress(
            {"phase": "training", "epoch": epoch, "epochs": config.epochs, **_plain(metrics)}
        ),
        should_stop=progress.cancel_requested,
        checkpoint_dir=artifact_dir(version) / "checkpoints",
        deadline=deadline,
    )
    if result.stopped == "cancelled":
        raise JobCancelled(ERROR_CANCELLED)
    progress({"phase": "saving"})
    _save(version, found, train, valid, result, config, progress.cancel_requested)


def _trained_already(version: SequenceModelVersion) -> None:
    """A delivery after the work was done (the worker died before it ended the job): retraining
    would take a serving version offline, and a failure would fail it. What followed the save
    may not have run: storing the vectors, activating; but a version that has served since was
    taken out of service by an admin (a rollback), and that decision stands."""
    sequence_vectors_store_or_log(version=version)
    if version.status != SequenceModelVersion.Status.READY:
        return
    if version.auto_activate and version.activated_at is not None:
        logger.info(
            "sequence version %s left ready: it served until another version was activated",
            version.pk,
        )
        return
    _activate_if_better(version)


def _training_config(version: SequenceModelVersion) -> SequenceConfig:
    """The version's settings, checked as a new training's are: one queued before the floors
    (epochs 0) would save an untrained model that could be activated."""
    try:
        return SequenceConfig.for_training(**SequenceConfig.from_dict(version.params).to_dict())
    except (TypeError, ValueError) as exc:
        raise ValueError(ERROR_SETTINGS.format(reason=exc)) from None


def _progress_writer(job: SequenceTrainingJob, on_progress) -> ProgressWriter:
    def write(report: dict) -> None:
        job.progress = report
        job.save(update_fields=["progress"])
        if on_progress is not None:
            on_progress(report)

    return ProgressWriter(job, write=write)


def _save(version, found: TrainingData, train, valid, result, config, cancel_requested) -> None:
    """Weights, item vectors (cold items by content alone) and figures; then, if asked and
    better than the active version on this validation split (or none is active), activation.
    An admin's cancel while it saves (vectors, peer profiles, fusion tuning) fails the version,
    as during the epochs; one that comes once it is ready leaves it ready, not activated."""
    folder = artifact_dir(version)
    folder.mkdir(parents=True, exist_ok=True)
    model_path = artifacts.save(folder / "model.npz", result.weights, config)
    scorer = SequenceScorer(result.weights, config)
    known = np.bincount(train.items, minlength=len(found.product_ids)) > 0
    vectors = scorer.item_vectors(found.content, known).astype(np.float32)
    vectors_path = folder / "vectors.npz"
    # Written aside, then renamed: a disk filling mid-write leaves no damaged file behind.
    np.savez(folder / "vectors.new.npz", product_ids=found.product_ids, vectors=vectors)
    os.replace(folder / "vectors.new.npz", vectors_path)
    kinds = target_kinds(train, valid)  # as training validated
    inputs, targets = histories_and_targets(train, valid, kinds)
    recall = recall_at(scorer, vectors, inputs, targets, k=config.k)
    active, active_knows = active_recall(found.product_ids, inputs, targets, k=config.k)
    shared = recall
    if active_knows is not None:
        shared_inputs, shared_targets = known_targets(inputs, targets, active_knows)
        shared = recall_at(scorer, vectors, shared_inputs, shared_targets, k=config.k)
    version.metrics = {
        "recall": recall,
        "best_training_recall": _number(result.best_recall),
        "active_version": _active_pk(),
        "active_recall": active,
        # This version on the active one's products only: what the decision compares.
        "recall_vs_active": shared,
        "cold_items": int((~known).sum()),
        "device": result.device,
        "stopped": result.stopped,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        **_tuned_hybrid(train, valid, kinds, found, scorer, vectors),
    }
    if recall is None:
        first = version.auto_activate and version.metrics["active_version"] is None
        version.metrics["validation"] = UNVALIDATED_FIRST if first else UNVALIDATED
    version.artifact_path, version.vectors_path = str(model_path), str(vectors_path)
    # Served: every shopper up to now, read again so that one erased while it trained is gone
    # (and one erased while they are read is rewritten by the refresh it asks for).
    peers_first_build(version, lambda: sequences_of(found.product_ids))
    version.history = [_plain(epoch) for epoch in result.history]
    if cancel_requested():
        raise JobCancelled(ERROR_CANCELLED)
    version.status = SequenceModelVersion.Status.READY
    version.save(update_fields=["history", "status"])
    # Indexed now, so an A/B test's candidate is served from pgvector like the active version.
    sequence_vectors_store_or_log(version=version)
    _activate_if_better(version, cancel_requested)


def _tuned_hybrid(train, valid, kinds, found: TrainingData, scorer, vectors) -> dict:
    """The served fusion's weights and repeat rule tuned for this version on the validation
    window (its signals read only the training part), with its validation Recall@20 and the
    measured defaults' on the same cases, so the page shows what tuning gained."""
    cases = validation_cases(
        train,
        valid,
        content=found.image_content,
        sequence=lambda items, kinds: vectors @ scorer.visitor_vector(items, kinds),
        peers=Peers.fit(train),
        selling_half_life_days=settings.PRODSIM_TRENDING_HALF_LIFE_DAYS,
        view_share=VIEW_SHARE,
        target_kinds=kinds,
    )
    if not cases:
        return {"hybrid_weights": None, "hybrid_recall": None, "hybrid_default_recall": None}
    tuned = tune_weights(cases)
    return {
        "hybrid_weights": tuned.to_dict(),
        "hybrid_recall": round(recall_of(cases, tuned), 6),
        "hybrid_default_recall": round(recall_of(cases, HybridWeights()), 6),
    }


def _activate_if_better(
    version: SequenceModelVersion, cancel_requested: Callable[[], bool] = lambda: False
) -> None:
    """Activate it if asked and it beats the active version (`_beats_active`); the log says
    when it serves unmeasured. Decided under the activation lock, so an admin's activation a
    moment before is what it is compared with (and never undone by a stale comparison), and
    an admin's cancel before it is obeyed (JobCancelled)."""
    if not version.auto_activate:
        return
    sequence_vectors_store_or_log(version=version)  # outside: its index builds concurrently
    with transaction.atomic():
        turn_lock(SEQUENCE_ACTIVATIONS)
        if cancel_requested():
            raise JobCancelled(ERROR_CANCELLED)
        if _beats_active(version.metrics):
            if version.metrics["recall"] is None:
                logger.warning("sequence version %s: %s", version.pk, UNVALIDATED_FIRST)
            sequence_version_activate(version=version)


def _beats_active(metrics: dict) -> bool:
    """Whether the version beat the active one; never when another has been activated since
    it was measured (an admin's choice, or a redelivery long after the save). With none active
    it always does, measured or not (a shop whose recent shoppers are all new ones): serving
    nothing is worse than an unmeasured model, as for image versions."""
    if metrics.get("active_version") != _active_pk():
        return False
    if metrics.get("active_version") is None:
        return True
    recall, active = metrics.get("recall_vs_active"), metrics["active_recall"]
    if recall is None:
        # No buyer of the window bought a product the active version knows (a catalogue that
        # turned over), or a version saved before the two were measured alike: its own figure.
        recall = metrics["recall"]
    return recall is not None and (active is None or recall > active)


def _active_pk() -> int | None:
    active = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE)
    return active.values_list("pk", flat=True).first()


def _dataset_summary(found: TrainingData, train, valid, valid_from: int) -> dict:
    return {
        "events": found.data.n_events,
        "visitors": found.data.n_visitors,
        "products": len(found.product_ids),
        "train_events": train.n_events,
        "valid_events": valid.n_events,
        "valid_from": valid_from,
        # Under VALID_DAYS for a short history (`validation_cut`): the page says so.
        "valid_days": round((int(found.data.times.max()) - valid_from) / SECONDS_PER_DAY, 2),
        **found.source.as_dataset(),
    }


def _plain(values: dict) -> dict:
    return {key: _number(value) for key, value in values.items()}


def _number(value):
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value
