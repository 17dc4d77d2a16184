"""Rolling the sequence model back to the version that served before the active one."""

from django.db import transaction

from core.locks import SEQUENCE_ACTIVATIONS, turn_lock

from ...models import SequenceModelVersion
from .versions import SequenceVersionError, sequence_version_activate

ERROR_NO_PREVIOUS = "no earlier sequence version to roll back to"
ERROR_NOT_ACTIVE = (
    "sequence version {pk} is not the active one ({active} is): nothing rolled back; select the "
    "active version to roll it back"
)


def rollback_target() -> SequenceModelVersion | None:
    """The most recently activated servable version other than the active one."""
    return (
        SequenceModelVersion.objects.filter(
            activated_at__isnull=False,
            status__in=[SequenceModelVersion.Status.READY, SequenceModelVersion.Status.ARCHIVED],
        )
        .order_by("-activated_at")
        .first()
    )


@transaction.atomic
def sequence_version_rollback(*, from_version_id: int | None = None) -> SequenceModelVersion:
    """Activate the version that served before the current one. `from_version_id`: the version
    the admin saw active; rolled back already (a double click, two admins), it is no longer, and
    nothing changes (otherwise the second rollback made the first's version active again)."""
    turn_lock(SEQUENCE_ACTIVATIONS)  # the target is chosen after any switch in progress commits
    if from_version_id is not None:
        active = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE)
        active_pk = active.values_list("pk", flat=True).first()
        if active_pk != from_version_id:
            now = f"version {active_pk}" if active_pk else "none"
            raise SequenceVersionError(ERROR_NOT_ACTIVE.format(pk=from_version_id, active=now))
    previous = rollback_target()
    if previous is None:
        raise SequenceVersionError(ERROR_NO_PREVIOUS)
    return sequence_version_activate(version=previous)
