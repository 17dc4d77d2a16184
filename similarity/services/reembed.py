"""Bulk re-embedding for operators: resumable through an `embed` Job row holding a cursor."""

from django.db import transaction
from django.utils import timezone

from ..models import Job, ModelVersion
from .embedding import DEFAULT_BATCH_SIZE, EmbedProgress, images_embed, images_to_embed


def _resumable_job(version: ModelVersion, only_missing: bool) -> Job:
    """The unfinished run with the same parameters, or a new one."""
    params = {"only_missing": only_missing}
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(
                kind=Job.Kind.EMBED, model_version=version, params=params, state=Job.State.RUNNING
            )
            .first()
        )
        if job is None:
            job = Job.objects.create(
                kind=Job.Kind.EMBED,
                model_version=version,
                params=params,
                state=Job.State.RUNNING,
                started_at=timezone.now(),
            )
        job.attempts += 1
        job.save(update_fields=["attempts"])
    return job


def reembed(
    *,
    version: ModelVersion,
    only_missing: bool,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress=None,
) -> EmbedProgress:
    """Embed the catalogue's images with `version`, continuing an interrupted run if any."""
    job = _resumable_job(version, only_missing)
    cursor = job.progress.get("cursor", 0)
    records = images_to_embed(version=version, only_missing=only_missing, after_id=cursor)

    def record(state: EmbedProgress) -> None:
        Job.objects.filter(pk=job.pk).update(progress={**state.as_dict(), "resumed_after": cursor})
        if progress:
            progress(state)

    state = images_embed(version=version, records=records, batch_size=batch_size, progress=record)
    job.state, job.finished_at = Job.State.SUCCEEDED, timezone.now()
    job.save(update_fields=["state", "finished_at"])
    return state
