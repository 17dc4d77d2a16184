"""Your data: a shopper sees what the shop recorded about their visits, downloads it and erases
it, without asking anyone (the partner API's export and erasure, for the storefront's own
shoppers). Erasure is a POST with CSRF that redirects; the download is never cached."""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from behaviour.services.visitors import visitor_event_counts, visitor_events_export

from . import shopper

ERASED = (
    "Erased {count} recorded event{plural}. Lists computed from every shopper's events "
    "(bought together, trending) lose your share at their next refresh."
)
EXPORT_FILENAME = "your-data.json"


@require_GET
@never_cache
def your_data(request):
    visitor = shopper.known_visitor_id(request)
    counts = visitor_event_counts(visitor_id=visitor) if visitor else {}
    context = {
        "counts": sorted(counts.items()),
        "total": sum(counts.values()),
        "retention_days": settings.PRODSIM_EVENT_RETENTION_DAYS,
    }
    return render(request, "storefront/your_data.html", context)


@require_GET
@never_cache
def your_data_export(request):
    visitor = shopper.known_visitor_id(request)
    events = visitor_events_export(visitor_id=visitor) if visitor else []
    response = JsonResponse({"events": events}, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
    return response


@require_POST
def your_data_erase(request):
    count = shopper.visitor_forget(request)
    messages.success(request, ERASED.format(count=count, plural="" if count == 1 else "s"))
    return redirect("storefront:your-data")
