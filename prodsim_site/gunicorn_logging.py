"""gunicorn's logger with the visitor ids masked in its access and error logs (`--logger-class
prodsim_site.gunicorn_logging.MaskingLogger` in the Procfile and docker-compose.yml)."""

from gunicorn.glogging import Logger

from core.log_privacy import MaskVisitorIds


class MaskingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)  # (re)creates the handlers, so the filter is added after it
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(MaskVisitorIds())
