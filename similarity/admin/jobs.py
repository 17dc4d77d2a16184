"""Training and embedding jobs in the admin: the live page, its JSON progress and cancel."""

from django.contrib import admin
from django.urls import path

from prodsim_site.job_cancel import CancelJobAdminMixin, CancelMessages

from ..admin_views import lifecycle
from ..models import Job
from ..selectors import job_progress, job_progress_summary
from ..services import job_cancel

CANCEL_MESSAGES = CancelMessages(
    requested="Cancellation of job #{pk} requested; the worker stops at its next check.",
    cancelled_queued="Job #{pk} was still queued: cancelled, nothing was trained.",
    already_finished="Job #{pk} has already finished ({state}).",
    action_done="{cancelled} queued job(s) cancelled; {asked} running job(s) asked to stop.",
)


@admin.register(Job)
class JobAdmin(CancelJobAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "state",
        "model_version",
        "progress_summary",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "state"]
    cancel_messages = CANCEL_MESSAGES
    # Whoever may start training may stop it; viewing a job is not enough.
    cancel_permission = "similarity.train_model"
    readonly_fields = [
        "kind",
        "state",
        "model_version",
        "progress_summary",
        "progress",
        "log",
        "attempts",
        "cancel_requested",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    ]
    change_form_template = "admin/similarity/job/change_form.html"

    def has_add_permission(self, request) -> bool:
        return False  # jobs are started by training or re-embedding, not created by hand

    def has_view_permission(self, request, obj=None) -> bool:
        # The train form leads to the job's page: whoever may train may watch jobs.
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "similarity.train_model"
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                view(self.progress_view),
                name="similarity_job_progress",
            ),
            *self.cancel_urls(),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        return lifecycle.job_progress_view(request, model_admin=self, object_id=object_id)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["live"] = job_progress(job=obj)
            context["can_cancel"] = self.has_cancel_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def cancel_job(self, job: Job) -> Job:
        return job_cancel(job=job)

    @admin.display(description="Progress")
    def progress_summary(self, job: Job) -> str:
        return job_progress_summary(job=job)
