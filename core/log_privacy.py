"""Logs never carry a shopper's raw id: the `/visitors/<id>/` part of a logged path is masked.

The partner API takes the raw visitor id in the path (it is hashed at the door, never stored),
and both Django (`django.request` warns on every 4xx with the path) and gunicorn's access log
write paths. The filter sits on the handlers, so it covers every logger that reaches them.
"""

import logging
import re


def _literal_or_encoded(text: str) -> str:
    """A pattern of `text`, in any case, whose characters may each also be sent percent-encoded
    (compiled with re.IGNORECASE: "%2f" as "%2F", and a letter's code in either case)."""
    return "".join(f"(?:{re.escape(c)}|%{ord(c.lower()):02x}|%{ord(c.upper()):02x})" for c in text)


# Django logs the decoded path, so an id may hold anything but a line break: spaces, quotes,
# "?", "#" and "/" (refused, but sent: "ACME/12" or "ACME%2F12"). So the id runs to the last of
# the API's own suffixes on the line (export/, recommendations/), else to the path's end: a
# line's end, or the request line's " HTTP/" (an access log). An unknown suffix cannot be told
# from the rest of an id and is masked with it; more than the id goes, never less.
#
# The server decodes the path before routing, but an access log writes the request line as
# sent: "/%76isitors%2F" routes to the same view, so each character of "/visitors/" may also be
# percent-encoded. Any case: "/api/v1/Visitors/<id>/" is a 404, and logged.
VISITOR_IN_PATH = re.compile(
    f"({_literal_or_encoded('/visitors/')})"
    r"(?:[^\r\n]+(?=/(?:export|recommendations)/)|[^\r\n]+?(?=/?(?: HTTP/|\r|\n|$)))",
    re.IGNORECASE,
)
MASKED = r"\1<visitor>"
_TRACEBACKS = logging.Formatter()


def mask_visitor_ids(text: str) -> str:
    return VISITOR_IN_PATH.sub(MASKED, text)


class MaskVisitorIds(logging.Filter):
    """Rewrites a record's message and traceback, once formatted, with visitor ids masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call: the handler reports it as logging does
            return True
        masked = mask_visitor_ids(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set: the traceback is written masked.
            record.exc_text = mask_visitor_ids(_TRACEBACKS.formatException(record.exc_info))
        return True


def logging_settings(*, level: str) -> dict:
    """Django's LOGGING: one console, masking, for every logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "filters": {"mask_visitor_ids": {"()": "core.log_privacy.MaskVisitorIds"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["mask_visitor_ids"],
            }
        },
        "loggers": {
            # Django's own handlers (its console with DEBUG on, the dev server's request
            # lines) do not mask: its records go through this console only.
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["console"], "level": level},
    }
