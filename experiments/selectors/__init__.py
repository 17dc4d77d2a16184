"""Experiment reads: which arm a shopper is in, which version serves them, and the results."""

from .assignment import (
    BUCKETS,
    Assignment,
    Shopper,
    arm_for,
    assignment_for,
    running_experiment,
    running_experiments,
)
from .results import (
    VERSION_EXPERIMENTS_SHOWN,
    ArmResult,
    ExperimentResults,
    VersionExperiment,
    experiment_results,
    version_experiments,
)
from .shopper_log import shopper_log, shopper_log_counts
from .state import experiments_with_split_state

__all__ = [
    "BUCKETS",
    "VERSION_EXPERIMENTS_SHOWN",
    "ArmResult",
    "Assignment",
    "ExperimentResults",
    "Shopper",
    "VersionExperiment",
    "arm_for",
    "assignment_for",
    "experiment_results",
    "experiments_with_split_state",
    "running_experiment",
    "running_experiments",
    "shopper_log",
    "shopper_log_counts",
    "version_experiments",
]
