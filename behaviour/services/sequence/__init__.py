"""Sequence model versions and their training job (behaviour.ml.sequence under core.jobs)."""

from .deletion import sequence_version_delete
from .placement import sequence_vectors_place_all
from .rollback import rollback_target, sequence_version_rollback
from .schedule import sequence_retrain_if_due
from .training import sequence_training_job_run, sequence_training_time_out
from .vectors import SequenceVectorsError, sequence_vectors_backfill, sequence_vectors_store
from .versions import (
    SequenceVersionError,
    sequence_training_cancel,
    sequence_training_start,
    sequence_version_activate,
    sequence_version_unreadable,
)

__all__ = [
    "SequenceVectorsError",
    "SequenceVersionError",
    "rollback_target",
    "sequence_retrain_if_due",
    "sequence_training_cancel",
    "sequence_training_job_run",
    "sequence_training_start",
    "sequence_training_time_out",
    "sequence_version_activate",
    "sequence_version_delete",
    "sequence_version_rollback",
    "sequence_version_unreadable",
    "sequence_vectors_backfill",
    "sequence_vectors_place_all",
    "sequence_vectors_store",
]
