"""Cancelling a background job, one protocol for training and embedding jobs (similarity.Job) and
catalogue imports (catalog.ImportJob): the row's transition and the admin's *Cancel* controls.

A job model has `state` (with QUEUED and CANCELLED), `cancel_requested`, `error`, `finished_at`
and `is_finished`. A queued job ends at once, `cancelled`: its worker, when the delivery comes,
finds it finished and skips it. A running one is only flagged; its worker checks the flag between
units of work (batches, rows) and ends the job itself, because only it knows what to keep.
"""

from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST


def cancel_requested(model, pk: int, *, queued_error: str):
    """The job's row after a cancel request: ended `cancelled` with `queued_error` if queued,
    flagged if running, as it was if finished. Call inside a transaction: the row lock orders
    this against the worker's claim, so either the job ends before any work or the worker has
    it and sees the flag."""
    job = model.objects.select_for_update().get(pk=pk)
    if job.is_finished:
        return job
    job.cancel_requested = True
    if job.state != model.State.QUEUED:
        job.save(update_fields=["cancel_requested"])
        return job
    job.state, job.error, job.finished_at = model.State.CANCELLED, queued_error, timezone.now()
    job.save(update_fields=["cancel_requested", "state", "error", "finished_at"])
    return job


@dataclass(frozen=True)
class CancelMessages:
    requested: str  # {pk}
    cancelled_queued: str  # {pk}
    already_finished: str  # {pk}, {state}
    action_done: str  # {cancelled}, {asked}


class CancelJobAdminMixin:
    """A job admin's `<id>/cancel/` POST view (the change page's button) and *Cancel* action.

    Subclasses set `cancel_messages` and `cancel_permission` and define cancel_job(job)."""

    actions = ["cancel"]
    cancel_messages: CancelMessages
    cancel_permission: str  # "app_label.codename": whoever may start the work may stop it

    def cancel_job(self, job):
        raise NotImplementedError

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm(self.cancel_permission)

    def cancel_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_cancel"
        return [
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=name,
            )
        ]

    @method_decorator(require_POST)
    def cancel_view(self, request, object_id):
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        job = get_object_or_404(self.model, pk=object_id)
        texts = self.cancel_messages
        if job.is_finished:
            messages.warning(request, texts.already_finished.format(pk=job.pk, state=job.state))
        else:
            job = self.cancel_job(job)
            ended = job.state == self.model.State.CANCELLED
            done = texts.cancelled_queued if ended else texts.requested
            messages.success(request, done.format(pk=job.pk))
        change = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return HttpResponseRedirect(reverse(change, args=[job.pk]))

    @admin.action(description="Cancel the selected %(verbose_name_plural)s", permissions=["cancel"])
    def cancel(self, request, queryset):
        states = [self.cancel_job(job).state for job in queryset if not job.is_finished]
        cancelled = states.count(self.model.State.CANCELLED)
        texts = self.cancel_messages
        self.message_user(
            request, texts.action_done.format(cancelled=cancelled, asked=len(states) - cancelled)
        )
