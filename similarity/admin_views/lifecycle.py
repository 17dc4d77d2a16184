"""Admin pages of a version's lifecycle: the activation and rollback confirmations. (A job's
live page, JSON progress and cancel controls are core.jobs.admin's.)

ModelVersionAdmin mounts these through get_urls(), inside `admin_view`: non-staff users are sent
to the admin login; staff without the permission get 403.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.jobs.admin import admin_object_or_404

from ..models import ModelVersion
from ..selectors import active_version, rollback_target
from ..services import (
    VersionStateError,
    model_version_activate,
    model_version_rollback,
)

ACTIVATED = "v{pk} is now active; v{previous} stays ready for a rollback."
ACTIVATED_FIRST = "v{pk} is now active."
ROLLED_BACK = "Rolled back: v{pk} is active again; v{previous} stays ready."
NOTHING_TO_ROLL_BACK_TO = "There is no earlier active version to roll back to."
CONFIRMATION_TEMPLATE = "admin/similarity/modelversion/switch_confirmation.html"


def version_change_url(version: ModelVersion) -> str:
    return reverse("admin:similarity_modelversion_change", args=[version.pk])


def activate_view(request, *, model_admin, object_id: str):
    """GET: what would change; POST: switch atomically (model_version_activate)."""
    if not model_admin.has_activate_permission(request):
        raise PermissionDenied
    version = admin_object_or_404(model_admin, request, object_id)
    current = active_version()
    if request.method == "POST":
        try:
            model_version_activate(version=version)
        except VersionStateError as exc:
            messages.error(request, str(exc))
        else:
            message = ACTIVATED if current and current != version else ACTIVATED_FIRST
            messages.success(
                request, message.format(pk=version.pk, previous=current and current.pk)
            )
        return HttpResponseRedirect(version_change_url(version))
    return _confirmation(model_admin, request, target=version, current=current, rollback=False)


def rollback_view(request, *, model_admin):
    """GET: which version a rollback reactivates; POST: reactivate it (model_version_rollback)."""
    if not model_admin.has_activate_permission(request):
        raise PermissionDenied
    target, current = rollback_target(), active_version()
    if target is None:
        messages.error(request, NOTHING_TO_ROLL_BACK_TO)
        return HttpResponseRedirect(reverse("admin:similarity_modelversion_changelist"))
    if request.method == "POST":
        try:
            version = model_version_rollback()
        except VersionStateError as exc:  # another admin rolled back in between
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:similarity_modelversion_changelist"))
        messages.success(
            request, ROLLED_BACK.format(pk=version.pk, previous=current and current.pk)
        )
        return HttpResponseRedirect(version_change_url(version))
    return _confirmation(model_admin, request, target=target, current=current, rollback=True)


def _confirmation(model_admin, request, *, target, current, rollback: bool):
    verb = "Roll back to" if rollback else "Activate"
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": ModelVersion._meta,
        "title": f"{verb} v{target.pk}?",
        "target": target,
        "current": current,
        "rollback": rollback,
        "servable": target.is_servable,
    }
    return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)
