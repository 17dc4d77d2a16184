import sys

from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found, server_error

from core.api_errors import ERROR_OUTAGE, OUTAGE_ERRORS, OUTAGE_RETRY_AFTER_S
from core.middleware import API_PREFIX


@require_safe  # GET or HEAD: probes use either
def health(request):
    """Liveness + database readiness, for load balancers and compose health checks: 503 while
    the database does not answer (not ready), not a 500 and its traceback on every probe."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def not_found(request, exception):
    """404s under /api/ in the API's one error shape (no route matched, so DRF never saw them);
    the site's own page elsewhere."""
    if request.path.startswith(API_PREFIX):
        message = "no API endpoint at this path"
        return JsonResponse({"code": "not_found", "message": message, "errors": {}}, status=404)
    return page_not_found(request, exception)


def server_failed(request):
    """500s under /api/ in the API's one error shape (raised outside DRF's handler: middleware);
    the site's own page elsewhere. When Valkey or PostgreSQL was out of reach (the exception
    being handled), a 503 with Retry-After instead: the shopper is told to try again shortly
    (the storefront's pages read the cache's generations), not that the shop broke."""
    outage = isinstance(sys.exception(), OUTAGE_ERRORS)  # Django calls this inside its except
    if request.path.startswith(API_PREFIX):
        if outage:
            body = {"code": "unavailable", "message": ERROR_OUTAGE, "errors": {}}
            return _retry_later(JsonResponse(body, status=503))
        body = {"code": "error", "message": "the server failed on this request", "errors": {}}
        return JsonResponse(body, status=500)
    if outage:
        return _retry_later(HttpResponse(loader.get_template("503.html").render(), status=503))
    return server_error(request)


def _retry_later(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
    return response
