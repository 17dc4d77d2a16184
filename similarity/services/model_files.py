"""Whether a version's model files can embed photos: a folder deleted by hand, a restore that
came without the models or stopped half way. The gold photo scores, `evaluate`, activation and
visual search all ask before loading a model (no TensorFlow here)."""

from ..ml.embedder import model_files_exist
from ..models import ModelVersion

ERROR_NO_MODEL_FILES = (
    "v{pk} cannot be scored: its model files are gone from {folder} (restore them or delete v{pk})"
)
ERROR_CANNOT_ACTIVATE = (
    "v{pk} cannot be activated: its model files are gone from {folder} "
    "(restore them or delete v{pk})"
)
ERROR_MODEL_UNLOADABLE = (
    "v{pk} cannot be scored: its model files in {folder} cannot be loaded ({error}); "
    "restore them or delete v{pk}"
)
# What loading or running a model whose files are cut short or corrupt raises: LiteRT's
# interpreter a ValueError or RuntimeError, Keras a ValueError or OSError.
MODEL_LOAD_ERRORS = (ValueError, RuntimeError, OSError)


def model_files_problem(version: ModelVersion) -> str:
    """Why the version's model cannot be loaded to embed photos ("" when it can): its folder was
    deleted by hand, or a restore came without the models."""
    if model_files_exist(version.artifact_dir):
        return ""
    return ERROR_NO_MODEL_FILES.format(pk=version.pk, folder=version.artifact_dir)


def activation_problem(version: ModelVersion) -> str:
    """Why the version may not serve ("" when it may): its recorded model folder lost its
    files, so every shopper's photo would fail to embed. (A row with no folder recorded never
    had a model to embed photos with: visual search already answers "unavailable" for it.)"""
    if not version.artifact_dir or model_files_exist(version.artifact_dir):
        return ""
    return ERROR_CANNOT_ACTIVATE.format(pk=version.pk, folder=version.artifact_dir)


def model_load_problem(version: ModelVersion, error: Exception) -> str:
    """The reason to show for a version whose model files exist but fail to load or run."""
    return ERROR_MODEL_UNLOADABLE.format(pk=version.pk, folder=version.artifact_dir, error=error)
