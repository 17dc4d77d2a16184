"""Training and embedding jobs in the admin: the live page, its JSON progress and cancel."""

from django.contrib import admin
from django.urls import path

from ..admin_views import lifecycle
from ..models import Job
from ..selectors import job_progress, job_progress_summary
from ..services import job_cancel

CANCEL_ACTION_DONE = "{cancelled} queued job(s) cancelled; {asked} running job(s) asked to stop."


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
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
    actions = ["cancel"]
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

    def has_cancel_permission(self, request) -> bool:
        # Whoever may start training may stop it; viewing a job is not enough.
        return request.user.has_perm("similarity.train_model")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                view(self.progress_view),
                name="similarity_job_progress",
            ),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="similarity_job_cancel"),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        return lifecycle.job_progress_view(request, model_admin=self, object_id=object_id)

    def cancel_view(self, request, object_id):
        return lifecycle.job_cancel_view(request, model_admin=self, object_id=object_id)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["live"] = job_progress(job=obj)
            context["can_cancel"] = self.has_cancel_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description="Cancel the selected jobs", permissions=["cancel"])
    def cancel(self, request, queryset):
        states = [job_cancel(job=job).state for job in queryset if not job.is_finished]
        cancelled = states.count(Job.State.CANCELLED)
        self.message_user(
            request, CANCEL_ACTION_DONE.format(cancelled=cancelled, asked=len(states) - cancelled)
        )

    @admin.display(description="Progress")
    def progress_summary(self, job: Job) -> str:
        return job_progress_summary(job=job)
