"""Builders for the fault tests' data."""

from pathlib import Path


def tiny_version(artifact: Path, *, status: str = "ready"):
    from similarity.models import ModelVersion

    return ModelVersion.objects.create(
        status=status,
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        artifact_dir=str(artifact),
    )
