"""Asking a worker for a refresh (after commit), for callers that must not wait for one."""

from core.tasks import enqueue_on_commit

from ..models import RebuildRequest

REFRESH_TASK = "behaviour.tasks.behaviour_refresh_task"


def behaviour_refresh_enqueue(*, force: bool = False, reason: str = "asked") -> None:
    """Queue a refresh; without `force` it runs only if events arrived since the last one.

    `force` asks for a full rebuild (events were deleted, or an admin wants one): recorded in the
    caller's transaction, so whichever refresh first sees it rebuilds, even one already queued.
    """
    if force:
        RebuildRequest.objects.create(reason=reason[:100])
    enqueue_on_commit(REFRESH_TASK, force)
