"""Admin pages of a version's lifecycle: the activation and rollback confirmations. (A job's
live page, JSON progress and cancel controls are core.jobs.admin's.)

ModelVersionAdmin mounts these through get_urls(), inside `admin_view`: non-staff users are sent
to the admin login; staff without the permission get 403.
"""

from django import forms
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
    model_version_roll_back_to,
)
from ..services.model_files import activation_problem

ACTIVATED = "v{pk} is now active; v{previous} stays ready for a rollback."
ACTIVATED_FIRST = "v{pk} is now active."
ROLLED_BACK = "Rolled back: v{pk} is active again; v{previous} stays ready."
NOTHING_TO_ROLL_BACK_TO = "There is no earlier active version to roll back to."
CONFIRM_AGAIN = "The confirmation did not say which version to roll back to: check it again."
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


class RollbackConfirmation(forms.Form):
    """What the confirmation page showed: the version to reactivate, and the one active then."""

    target = forms.IntegerField(min_value=1)
    shown_active = forms.IntegerField(min_value=1, required=False)


def rollback_view(request, *, model_admin):
    """GET: which version a rollback reactivates; POST: reactivate exactly that one, while the
    version the page showed as active still is (model_version_roll_back_to)."""
    if not model_admin.has_activate_permission(request):
        raise PermissionDenied
    if request.method == "POST":
        return _roll_back(request)
    target, current = rollback_target(), active_version()
    if target is None:
        messages.error(request, NOTHING_TO_ROLL_BACK_TO)
        return HttpResponseRedirect(reverse("admin:similarity_modelversion_changelist"))
    return _confirmation(model_admin, request, target=target, current=current, rollback=True)


def _roll_back(request):
    confirmation = RollbackConfirmation(request.POST)
    if not confirmation.is_valid():
        messages.error(request, CONFIRM_AGAIN)
        return HttpResponseRedirect(reverse("admin:similarity_modelversion_rollback"))
    target, shown = confirmation.cleaned_data["target"], confirmation.cleaned_data["shown_active"]
    try:
        version = model_version_roll_back_to(version_id=target, shown_active_id=shown)
    except VersionStateError as exc:  # confirmed twice, or another switch came in between
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("admin:similarity_modelversion_changelist"))
    message = ROLLED_BACK if shown else ACTIVATED_FIRST
    messages.success(request, message.format(pk=version.pk, previous=shown))
    return HttpResponseRedirect(version_change_url(version))


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
        "problem": activation_problem(target),
    }
    return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)
