"""The admin's behaviour page, mounted under admin/behaviour/ ahead of the admin site (every
view wrapped by `admin_view`: non-staff users go to the admin login)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from .models import Event
from .selectors.overview import behaviour_overview
from .services.refresh_queue import behaviour_refresh_enqueue

REFRESH_QUEUED = "A refresh was queued; the lists change when it finishes."
VIEW_PERMISSION = "behaviour.view_behaviourrefresh"
REFRESH_PERMISSION = "behaviour.add_behaviourrefresh"


def overview_view(request):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Shopper behaviour",
        "overview": behaviour_overview(),
        "kinds": Event.Kind.values,
        "may_refresh": request.user.has_perm(REFRESH_PERMISSION),
    }
    return TemplateResponse(request, "admin/behaviour/overview.html", context)


@require_POST
def refresh_view(request):
    if not request.user.has_perm(REFRESH_PERMISSION):
        raise PermissionDenied
    behaviour_refresh_enqueue(force=True)
    messages.success(request, REFRESH_QUEUED)
    return HttpResponseRedirect(reverse("behaviour_admin:overview"))


app_name = "behaviour_admin"
urlpatterns = [
    path("overview/", admin.site.admin_view(overview_view), name="overview"),
    path("overview/refresh/", admin.site.admin_view(refresh_view), name="refresh"),
]
