"""Logs never carry a shopper's raw id: the `/visitors/<id>/` part of a logged path is masked.

The partner API takes the raw visitor id in the path (it is hashed at the door, never stored),
and both Django (`django.request` warns on every 4xx with the path) and gunicorn's access log
write paths. The filter sits on the handlers, so it covers every logger that reaches them.
"""

import logging
import re

VISITOR_IN_PATH = re.compile(r"(/visitors/)[^/?#\s\"]+")
MASKED = r"\1<visitor>"


def mask_visitor_ids(text: str) -> str:
    return VISITOR_IN_PATH.sub(MASKED, text)


class MaskVisitorIds(logging.Filter):
    """Rewrites a record's message, once formatted, with its visitor ids masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_visitor_ids(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
