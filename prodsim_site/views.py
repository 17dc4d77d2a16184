from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found, server_error

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
    the site's own page elsewhere."""
    if request.path.startswith(API_PREFIX):
        body = {"code": "error", "message": "the server failed on this request", "errors": {}}
        return JsonResponse(body, status=500)
    return server_error(request)
