from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from core.middleware import API_PREFIX


@require_GET
def health(request):
    """Liveness + database readiness, for load balancers and compose health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request, exception):
    """404s under /api/ in the API's one error shape (no route matched, so DRF never saw them);
    the site's own page elsewhere."""
    if request.path.startswith(API_PREFIX):
        message = "no API endpoint at this path"
        return JsonResponse({"code": "not_found", "message": message, "errors": {}}, status=404)
    return page_not_found(request, exception)
