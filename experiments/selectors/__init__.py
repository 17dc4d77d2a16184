"""Experiment reads: which arm a session is in, which version serves it, and the results."""

from .assignment import (
    BUCKETS,
    SESSION_HASH_SALT,
    Assignment,
    arm_for,
    assignment_for,
    running_experiment,
    running_experiments,
    session_id_hash,
)
from .results import (
    VERSION_EXPERIMENTS_SHOWN,
    ArmResult,
    ExperimentResults,
    VersionExperiment,
    experiment_results,
    version_experiments,
)
from .session_log import session_log

__all__ = [
    "BUCKETS",
    "SESSION_HASH_SALT",
    "VERSION_EXPERIMENTS_SHOWN",
    "ArmResult",
    "Assignment",
    "ExperimentResults",
    "VersionExperiment",
    "arm_for",
    "assignment_for",
    "experiment_results",
    "running_experiment",
    "running_experiments",
    "session_id_hash",
    "session_log",
    "version_experiments",
]
