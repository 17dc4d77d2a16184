"""Rolling back to the version that served before: the operator's command picks it, an admin's
confirmation names it."""

from django.db import transaction

from core.locks import IMAGE_ACTIVATIONS, turn_lock

from ..models import ModelVersion
from ..selectors import rollback_target
from .versions import ERROR_GONE, VersionStateError, model_version_activate

ERROR_NO_PREVIOUS = "there is no earlier ready version to roll back to"
ERROR_ALREADY_ACTIVE = "v{pk} is already active: nothing was switched"
ERROR_ACTIVE_CHANGED = (
    "the active version changed since the page was shown ({shown} then, {now} now): "
    "nothing was switched; look again before rolling back"
)


@transaction.atomic
def model_version_rollback() -> ModelVersion:
    """Activate the most recently active version before the current one."""
    turn_lock(IMAGE_ACTIVATIONS)  # the target is chosen after any switch in progress commits
    previous = rollback_target()
    if previous is None:
        raise VersionStateError(ERROR_NO_PREVIOUS)
    return model_version_activate(version=previous)


@transaction.atomic
def model_version_roll_back_to(*, version_id: int, shown_active_id: int | None) -> ModelVersion:
    """An admin's confirmed rollback: activate exactly the version the confirmation page named,
    while the version it showed as active (`shown_active_id`, None for none) still is. A second
    confirmation of the same page (a double click, two admins) or one another switch made stale
    changes nothing: VersionStateError says why."""
    turn_lock(IMAGE_ACTIVATIONS)
    current = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if current is not None and current.pk == version_id:
        raise VersionStateError(ERROR_ALREADY_ACTIVE.format(pk=version_id))
    if (current.pk if current else None) != shown_active_id:
        shown = f"v{shown_active_id}" if shown_active_id else "none"
        raise VersionStateError(
            ERROR_ACTIVE_CHANGED.format(shown=shown, now=f"v{current.pk}" if current else "none")
        )
    target = ModelVersion.objects.filter(pk=version_id).first()
    if target is None:
        raise VersionStateError(ERROR_GONE.format(pk=version_id))
    return model_version_activate(version=target)
