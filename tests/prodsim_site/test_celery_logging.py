"""Workers and beat keep Django's logging: Celery set the root logger to its --loglevel and its
own handler, so PRODSIM_LOG_LEVEL and the visitor-id masking filter held in web alone."""

import logging

from prodsim_site.celery import app


def test_celerys_logging_set_up_leaves_the_root_logger_as_django_configured_it():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        root.setLevel(logging.WARNING)  # as PRODSIM_LOG_LEVEL=WARNING configures it

        app.log.setup_logging_subsystem(loglevel="INFO")  # what `worker --loglevel INFO` runs

        assert root.level == logging.WARNING
        assert root.handlers == handlers
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
