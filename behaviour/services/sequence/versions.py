"""Sequence model versions: start a training, activate one, cancel a job (roll back:
rollback.py)."""

import logging
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.artifacts import UNREADABLE
from behaviour.ml.sequence.config import SequenceConfig
from core.jobs import request_cancel
from core.locks import SEQUENCE_ACTIVATIONS, turn_lock
from core.tasks import enqueue_on_commit
from similarity import cache as similar_cache

from ... import cache
from ...models import SequenceModelVersion, SequenceTrainingJob
from .vectors import SERVABLE, STORE_FAILURES, sequence_vectors_store

logger = logging.getLogger(__name__)

TRAINING_TASK = "behaviour.tasks.sequence_training_task"
ERROR_GONE = "sequence version {pk} no longer exists"
ERROR_NOT_SERVABLE = "sequence version {pk} is {status}; only a ready or archived one can serve"
ERROR_CANCELLED = "cancelled by an admin"


class SequenceVersionError(Exception):
    """An activation or rollback the versions' states do not allow; the message says why."""


def artifact_dir(version: SequenceModelVersion) -> Path:
    return Path(settings.PRODSIM_MODELS_ROOT) / "sequence" / f"v{version.pk}"


@transaction.atomic
def sequence_training_start(
    *, config: SequenceConfig, auto_activate: bool | None = None, user=None, enqueue: bool = True
) -> SequenceTrainingJob:
    """A queued version and its training job; the `ml` worker trains it after commit.
    `config` is validated by its own constructor (ValueError says what is wrong). Whether it
    activates itself when it beats the active version: `auto_activate`, by default the shop's
    PRODSIM_AUTO_ACTIVATE (as for image versions)."""
    if auto_activate is None:
        auto_activate = settings.PRODSIM_AUTO_ACTIVATE
    version = SequenceModelVersion.objects.create(
        architecture=config.architecture, params=config.to_dict(), auto_activate=auto_activate
    )
    job = SequenceTrainingJob.objects.create(version=version, created_by=user)
    if enqueue:
        enqueue_on_commit(TRAINING_TASK, job.pk)
    return job


def sequence_version_activate(*, version: SequenceModelVersion) -> SequenceModelVersion:
    """Serve `version`; the previous active one becomes ready, kept for rollback. Recommendation
    lists cached under the old version become unreachable once this commits.

    Its item vectors are stored in pgvector first (once per version, before the lock: outside a
    transaction the HNSW index builds without blocking the serving version). A version whose
    files cannot be read is still activated, as before: it serves without the sequence signal;
    `sequence_version_unreadable` says why, for the caller to show."""
    sequence_vectors_store_or_log(version=version)
    return _activate(version)


def sequence_version_unreadable(*, version: SequenceModelVersion) -> str:
    """Why serving cannot read the version's files ("" when it can): its weights and its
    vectors file's product ids, read as serving reads them (lost, foreign or damaged files)."""
    try:
        if version.artifact_path:
            artifacts.load(version.artifact_path)
        if version.vectors_path:
            with np.load(version.vectors_path, allow_pickle=False) as archive:
                archive["product_ids"]
    except UNREADABLE as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def sequence_vectors_store_or_log(*, version: SequenceModelVersion) -> None:
    """Store a trained version's item vectors in pgvector (once); a file that cannot be read
    or rows the database refuses are logged, not raised: the version then serves from its file
    or without the sequence signal, and `manage.py sequence_vectors` retries it."""
    if version.status in SERVABLE and version.vectors_path:
        try:
            # A savepoint inside a caller's transaction (a rollback), which a refused row would
            # otherwise leave aborted; outside one, none, so the index builds concurrently.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                sequence_vectors_store(version=version)
        except STORE_FAILURES as exc:
            logger.error("sequence version %s: vectors not stored: %s", version.pk, exc)


@transaction.atomic
def _activate(version: SequenceModelVersion) -> SequenceModelVersion:
    turn_lock(SEQUENCE_ACTIVATIONS)  # two at once: see similarity's model_version_activate
    pk = version.pk
    version = SequenceModelVersion.objects.select_for_update().filter(pk=pk).first()
    if version is None:  # deleted since the page that asked was shown
        raise SequenceVersionError(ERROR_GONE.format(pk=pk))
    if version.status == SequenceModelVersion.Status.ACTIVE:
        return version
    servable = {SequenceModelVersion.Status.READY, SequenceModelVersion.Status.ARCHIVED}
    if version.status not in servable:
        raise SequenceVersionError(ERROR_NOT_SERVABLE.format(pk=version.pk, status=version.status))
    active = SequenceModelVersion.Status.ACTIVE
    SequenceModelVersion.objects.filter(status=active).update(
        status=SequenceModelVersion.Status.READY
    )
    version.status, version.activated_at = active, timezone.now()
    version.save(update_fields=["status", "activated_at"])
    transaction.on_commit(cache.refreshed)
    similar_cache.serving_changed()  # each process's copy of the active version is stale
    logger.info("Sequence model version %s is now active", version.pk)
    return version


@transaction.atomic
def sequence_training_cancel(*, job: SequenceTrainingJob) -> SequenceTrainingJob:
    """A queued job ends now (its version fails, never trained); a running one is asked to stop
    and the worker checks between batches, keeping nothing."""
    job = request_cancel(SequenceTrainingJob, job.pk, queued_error=ERROR_CANCELLED)
    if job.state == SequenceTrainingJob.State.CANCELLED:
        SequenceModelVersion.objects.filter(
            pk=job.version_id, status=SequenceModelVersion.Status.QUEUED
        ).update(status=SequenceModelVersion.Status.FAILED, error=ERROR_CANCELLED)
    return job
