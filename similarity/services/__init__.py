"""Similarity writes that the web process may call (no TensorFlow). The worker-only pipeline
lives in `services.pipeline`, `services.embedding` and `services.baselines`."""

from .judgments import JudgmentError, judgment_record
from .rollback import model_version_roll_back_to, model_version_rollback
from .versions import (
    VersionStateError,
    job_cancel,
    model_version_activate,
    model_version_create,
)

__all__ = [
    "JudgmentError",
    "judgment_record",
    "VersionStateError",
    "job_cancel",
    "model_version_activate",
    "model_version_create",
    "model_version_roll_back_to",
    "model_version_rollback",
]
