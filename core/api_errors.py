"""The partner API's one error shape (kept apart from api.py: DRF imports this while loading)."""

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)
# Valkey (throttle, verified keys, cache) or PostgreSQL out of reach: the partner retries later,
# told so in the API's shape, rather than reading Django's HTML 500 page.
OUTAGE_ERRORS = (RedisError, OperationalError, InterfaceError)
OUTAGE_RETRY_AFTER_S = 10
ERROR_OUTAGE = "a service prodsim needs is unreachable for the moment; try again shortly"

# Django's own request limits (and core.uploads' caps) raise these while DRF parses the
# body; left alone they become Django's HTML 400 page instead of the API's JSON error.
REQUEST_LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


class RequestTooLarge(exceptions.APIException):
    status_code = 400
    default_code = "request_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "unavailable"


def error_handler(exc, context):
    """Every error as {"code", "message", "errors"}: machine-readable, one shape everywhere."""
    if isinstance(exc, REQUEST_LIMIT_ERRORS):
        exc = RequestTooLarge(str(exc))
    # DRF answers Django's own 404 and 403 (get_object_or_404, generic views) but the code is
    # read from `exc` below: converted here, they say "not_found"/"permission_denied" like
    # the API's own, not "error".
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, OUTAGE_ERRORS):
        logger.error("API request failed on an outage: %s", exc.__class__.__name__)
        response = error_handler(ServiceUnavailable(ERROR_OUTAGE), context)
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
        return response
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = {"code": "invalid", "message": "the request is invalid", "errors": errors}
    else:
        detail = getattr(exc, "detail", str(exc))
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        body = {"code": code, "message": str(detail), "errors": {}}
    response.data = body
    return response
