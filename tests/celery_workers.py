"""Reading Celery worker command lines (compose's, the Procfile's) against the task routes."""

from django.conf import settings

from prodsim_site.celery import app


def option(args: list[str], *names: str) -> str | None:
    """The value of the first of names in args (`-Q ml`, `--queues=ml`), or None."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def worker_queues(args: list[str]) -> set[str]:
    return set(option(args, "-Q", "--queues").split(","))


def routed_queues() -> set[str]:
    """Every queue a task can be sent to: the default one and those of the routes."""
    routes = settings.CELERY_TASK_ROUTES.values()
    return {settings.CELERY_TASK_DEFAULT_QUEUE} | {route["queue"] for route in routes}


def beat_queues() -> set[str]:
    """The queues Celery routes beat's tasks to."""
    return {
        app.amqp.router.route({}, entry["task"])["queue"].name
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
