"""Asking a worker for a refresh (after commit), for callers that must not wait for one."""

from core.tasks import enqueue_on_commit

REFRESH_TASK = "behaviour.tasks.behaviour_refresh_task"


def behaviour_refresh_enqueue(*, force: bool = False) -> None:
    """Queue a refresh; without `force` it runs only if events arrived since the last one."""
    enqueue_on_commit(REFRESH_TASK, force)
