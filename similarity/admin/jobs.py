"""Training and embedding jobs in the admin: the live page, its JSON progress and cancel
(core.jobs.admin)."""

from django.contrib import admin

from core.jobs.admin import (
    CancelMessages,
    LiveField,
    LiveJobAdminMixin,
    LivePageTexts,
    LiveRow,
    WorkJobAdminMixin,
)

from ..models import Job
from ..selectors import job_progress, job_progress_summary
from ..services import job_cancel

CANCEL_MESSAGES = CancelMessages(
    requested="Cancellation of job #{pk} requested; the worker stops at its next check.",
    cancelled_queued="Job #{pk} was still queued: cancelled, nothing was trained.",
    already_finished="Job #{pk} has already finished ({state}).",
    action_done="{cancelled} queued job(s) cancelled; {asked} running job(s) asked to stop.",
)
LIVE_ROWS = (
    LiveRow("State", "state"),
    LiveRow("Phase", "phase"),
    LiveRow("Epoch", "epoch", "epochs"),
    LiveRow("Loss", LiveField("loss", "fixed3")),
    LiveRow("Validation Recall@1", LiveField("val_recall_at_1", "fixed3")),
    LiveRow("Images/s", "images_per_s"),
    LiveRow("ETA", LiveField("eta_s", "duration")),
    LiveRow("Images embedded", "done", "total"),
    LiveRow("Errors", "failed"),
    LiveRow("Error", "error"),
)
LIVE_TEXTS = LivePageTexts(
    noun="job",
    cancel_requested="Cancellation requested: the worker stops at its next check.",
    report_link="Show the final report",
)


@admin.register(Job)
class JobAdmin(WorkJobAdminMixin, LiveJobAdminMixin, admin.ModelAdmin):
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
    live_rows, live_texts = LIVE_ROWS, LIVE_TEXTS
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

    def has_add_permission(self, request) -> bool:
        return False  # jobs are started by training or re-embedding, not created by hand

    def has_view_permission(self, request, obj=None) -> bool:
        # The train form leads to the job's page: whoever may train may watch jobs.
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "similarity.train_model"
        )

    def cancel_job(self, job: Job) -> Job:
        return job_cancel(job=job)

    def live_values(self, job: Job) -> dict:
        return job_progress(job=job)

    @admin.display(description="Progress")
    def progress_summary(self, job: Job) -> str:
        return job_progress_summary(job=job)
