from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from core.jobs import rows_live_state
from core.jobs.admin import (
    CancelMessages,
    EndedImportsDeleteMixin,
    ImportProblemsAdminMixin,
    LiveField,
    LiveJobAdminMixin,
    LivePageTexts,
    LiveRow,
)

from . import admin_sequence  # noqa: F401 (registers the sequence versions' admin)
from .importers import CHUNK_LINES, time_zone_named
from .models import BehaviourRefresh, EventImportJob
from .services.imports import (
    CsvTooLarge,
    csv_size_check,
    event_import_job_cancel,
    event_import_job_create,
    event_import_job_problems_csv,
    event_import_jobs_delete,
)

UPLOAD_PERMISSION = "behaviour.upload_events"
DELETE_KEPT_RUNNING = (
    "{count} running import(s) were not deleted: cancel them first; their worker stops and "
    "deletes the uploaded file."
)
IMPORT_COUNTS = ("accepted_count", "duplicate_count", "rejected_count")
CANCEL_MESSAGES = CancelMessages(
    requested="Cancellation of event import #{pk} requested; "
    f"it stops within {CHUNK_LINES} lines.",
    cancelled_queued="Event import #{pk} was still queued: cancelled, nothing was imported.",
    already_finished="Event import #{pk} has already finished ({state}).",
    action_done="{cancelled} queued import(s) cancelled; {asked} running import(s) asked to stop.",
)
LIVE_ROWS = (
    LiveRow("State", "state"),
    LiveRow("Lines", "rows_done", "rows_total"),
    LiveRow("Lines/s", "rows_per_s"),
    LiveRow("ETA", LiveField("eta_s", "duration")),
    LiveRow(
        "Accepted / duplicates / rejected", "accepted_count", "duplicate_count", "rejected_count"
    ),
    LiveRow("Problems listed", "errors"),
    LiveRow("Error", "error"),
)
LIVE_TEXTS = LivePageTexts(
    noun="import",
    cancel_requested="Cancellation requested: the import stops after the chunks in flight; "
    "events imported until then stay.",
    report_link="Show the report of every line",
)


class EventImportUploadForm(forms.ModelForm):
    csv_upload = forms.FileField(
        label="Order or event history CSV",
        help_text="See docs/EVENTS_FORMAT.md. Import the catalogue first: lines naming an "
        "unknown SKU are rejected.",
    )
    time_zone = forms.CharField(
        required=False,
        max_length=64,
        help_text="IANA time zone (e.g. Europe/London) of times without a UTC offset; "
        "leave empty to reject such lines.",
    )

    class Meta:
        model = EventImportJob
        fields = []

    def clean_csv_upload(self):
        # A CSV over the cap reaches the form as its size alone (core.uploads), never stored.
        upload = self.cleaned_data["csv_upload"]
        try:
            csv_size_check(upload.size)
        except CsvTooLarge as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        try:
            time_zone_named(name)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return name


@admin.register(EventImportJob)
class EventImportJobAdmin(
    EndedImportsDeleteMixin, ImportProblemsAdminMixin, LiveJobAdminMixin, admin.ModelAdmin
):
    list_display = [
        "id",
        "state",
        "created_at",
        "rows_done",
        "rows_total",
        "accepted_count",
        "duplicate_count",
        "rejected_count",
    ]
    list_filter = ["state"]
    actions = ["cancel", "delete_selected"]
    cancel_messages = CANCEL_MESSAGES
    delete_kept_running = DELETE_KEPT_RUNNING
    # Whoever may upload a history may stop an import; viewing one is not enough.
    cancel_permission = UPLOAD_PERMISSION
    live_rows, live_texts = LIVE_ROWS, LIVE_TEXTS
    problems_filename = "event-import-{pk}.csv"
    readonly_fields = [
        "state",
        "cancel_requested",
        "progress",
        "accepted_count",
        "duplicate_count",
        "rejected_count",
        "error",
        "attempts",
        "csv_name",
        "time_zone",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
        "problems",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EventImportUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["csv_upload", "time_zone"] if obj is None else self.readonly_fields

    # The upload's name as text: a file field shows as a link under /media/imports/, which is
    # never served (it holds the shoppers' raw ids until the import ends).
    @admin.display(description="CSV file")
    def csv_name(self, job: EventImportJob) -> str:
        return job.csv_file.name or "–"

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_add_permission(self, request) -> bool:
        # The upload writes shopper history in bulk: the dedicated permission, not "add".
        return request.user.has_perm(UPLOAD_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is a record; it changes only by running (or Cancel)

    def has_view_permission(self, request, obj=None) -> bool:
        # The upload form leads to the import's page: whoever may upload may follow imports.
        return super().has_view_permission(request, obj) or request.user.has_perm(UPLOAD_PERMISSION)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A running import is cancelled, not deleted: its worker still reads the file and
        # writes the row; once ended (or cancelled) the row and its file may go.
        if obj is not None and obj.state == EventImportJob.State.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        self.delete_queryset(request, EventImportJob.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        # The uploaded file holds raw visitor ids: it goes with the row (the service).
        deleted, kept = event_import_jobs_delete(jobs=queryset)
        if kept:
            self.message_user(request, DELETE_KEPT_RUNNING.format(count=kept), messages.WARNING)

    def cancel_job(self, job: EventImportJob) -> EventImportJob:
        return event_import_job_cancel(job=job)

    def live_values(self, job: EventImportJob) -> dict:
        return rows_live_state(job, counts=IMPORT_COUNTS)

    def save_model(self, request, obj, form, change):
        # The upload form only collects the file; the service stores it and enqueues the job.
        job = event_import_job_create(
            csv_file=form.cleaned_data["csv_upload"],
            time_zone=form.cleaned_data["time_zone"],
            user=request.user,
        )
        obj.pk = job.pk

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(
            request, f"Event import #{obj.pk} queued; this page follows it as it runs."
        )
        change = f"{self.admin_site.name}:{self.job_url_name('change')}"
        return HttpResponseRedirect(reverse(change, args=[obj.pk]))

    def problems_csv(self, job: EventImportJob) -> str:
        return event_import_job_problems_csv(job)

    @admin.display(description="Progress")
    def progress(self, job: EventImportJob) -> str:
        if not job.rows_total:
            return "waiting for a worker" if job.state == EventImportJob.State.QUEUED else "–"
        return f"{job.rows_done} / {job.rows_total} lines"


@admin.register(BehaviourRefresh)
class BehaviourRefreshAdmin(admin.ModelAdmin):
    """The refresh history, read-only: refreshes are written by the refresh task alone."""

    list_display = ["started_at", "state", "finished_at", "events_until", "error"]
    list_filter = ["state"]
    readonly_fields = ["state", "started_at", "finished_at", "events_until", "stats", "error"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
