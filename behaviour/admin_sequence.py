"""The admin of sequence model versions (figures, curves, activate, roll back, train a new one)
and of their training jobs (the live page with Cancel)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from behaviour.ml.sequence.config import (
    ARCHITECTURES,
    MAX_DIM,
    MAX_EPOCHS,
    MIN_DIM,
    MIN_EPOCHS,
    SequenceConfig,
)
from core.admin_deletion import deleted_objects_counted
from core.jobs import live_state
from core.jobs.admin import (
    CancelMessages,
    LiveField,
    LiveJobAdminMixin,
    LivePageTexts,
    LiveRow,
    WorkJobAdminMixin,
)

from .admin_sequence_charts import sequence_curves_html
from .models import SequenceModelVersion, SequenceTrainingJob
from .services.sequence import (
    SequenceVersionError,
    sequence_training_cancel,
    sequence_training_start,
    sequence_version_activate,
    sequence_version_delete,
    sequence_version_rollback,
    sequence_version_unreadable,
)
from .services.sequence.deletion import DELETABLE

TRAIN_PERMISSION = "behaviour.train_sequence_model"
ACTIVATE_PERMISSION = "behaviour.activate_sequence_model"
ONE_VERSION = "Select exactly one version to activate."
ONE_ACTIVE = "Select the active version to roll it back."
ACTIVATED = "Sequence version {pk} now serves the recommendations."
ACTIVATED_UNREADABLE = (
    "Sequence version {pk} is active, but its files cannot be read ({reason}): Recommended for "
    "you goes without its sequence and peers signals (co-occurrence, content, repeats and "
    "trending still serve) until they are restored or another version is activated."
)


class SequenceTrainForm(forms.ModelForm):
    """What an admin chooses for a new version; the rest of SequenceConfig keeps its defaults."""

    train_architecture = forms.ChoiceField(
        label="Architecture",
        choices=[(a, a) for a in ARCHITECTURES],
        initial=SequenceConfig().architecture,
    )
    train_epochs = forms.IntegerField(
        label="Epochs",
        min_value=MIN_EPOCHS,
        max_value=MAX_EPOCHS,
        initial=SequenceConfig().epochs,
    )
    train_dim = forms.IntegerField(
        label="Dimensions", min_value=MIN_DIM, max_value=MAX_DIM, initial=SequenceConfig().dim
    )
    train_negatives = forms.IntegerField(
        label="Sampled negatives",
        required=False,
        min_value=0,
        initial=SequenceConfig().negatives,
        help_text="0: softmax over every product. For large catalogues, e.g. 2000 sampled "
        "products per batch make each epoch far shorter.",
    )
    activate = forms.BooleanField(
        required=False,
        label="Activate it when it beats the active version on validation",
    )

    class Meta:
        model = SequenceModelVersion
        fields = []

    def clean(self):
        values = super().clean()
        try:
            values["config"] = SequenceConfig.for_training(
                architecture=values.get("train_architecture", ""),
                # A field that failed has its own error; its stand-in must not add another.
                epochs=values.get("train_epochs") or MIN_EPOCHS,
                dim=values.get("train_dim") or MIN_DIM,
                negatives=values.get("train_negatives") or 0,
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return values


@admin.register(SequenceModelVersion)
class SequenceModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "architecture",
        "recall",
        "recall_vs_active",
        "active_recall",
        "created_at",
        "activated_at",
    ]
    list_filter = ["status", "architecture"]
    actions = ["activate_version", "rollback"]
    readonly_fields = [
        "status",
        "architecture",
        "figures",
        "curves",
        "params",
        "dataset",
        "artifact_path",
        "vectors_path",
        "vectors_stored_at",
        "auto_activate",
        "error",
        "created_at",
        "activated_at",
        "jobs",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = SequenceTrainForm
        return super().get_form(request, obj, **kwargs)

    def get_changeform_initial_data(self, request):
        # The box says what the shop set (PRODSIM_AUTO_ACTIVATE); a click changes it.
        return {
            **super().get_changeform_initial_data(request),
            "activate": settings.PRODSIM_AUTO_ACTIVATE,
        }

    def has_delete_permission(self, request, obj=None) -> bool:
        # The serving version leaves only by activating another (or rolling back): deleted, it
        # would leave recommendations without their model; one in training has a worker that
        # would save it again. "Delete selected" asks per object.
        if obj is not None and obj.status not in DELETABLE:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        return deleted_objects_counted(self, objs, request)  # a row per product: counted

    def delete_model(self, request, obj):
        sequence_version_delete(version=obj)  # its folder too: the peers file names shoppers

    def delete_queryset(self, request, queryset):
        for version in queryset:
            try:
                sequence_version_delete(version=version)
            except SequenceVersionError as exc:  # activated or retrained since the confirmation
                self.message_user(request, str(exc), messages.ERROR)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "train_architecture",
                "train_epochs",
                "train_dim",
                "train_negatives",
                "activate",
            ]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(TRAIN_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a version changes only by training, activation or rollback

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm(ACTIVATE_PERMISSION)

    def save_model(self, request, obj, form, change):
        job = sequence_training_start(
            config=form.cleaned_data["config"],
            auto_activate=form.cleaned_data["activate"],
            user=request.user,
        )
        obj.pk, self._job = job.version_id, job

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, f"Sequence version {obj.pk} queued for training.")
        return HttpResponseRedirect(
            reverse("admin:behaviour_sequencetrainingjob_change", args=[self._job.pk])
        )

    @admin.action(description="Activate the selected version", permissions=["activate"])
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, ONE_VERSION, messages.ERROR)
            return
        self._act(request, lambda: sequence_version_activate(version=queryset.get()))

    @admin.action(
        description="Roll back the selected active version to the one before it",
        permissions=["activate"],
    )
    def rollback(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, ONE_ACTIVE, messages.ERROR)
            return
        shown_active = queryset.get().pk
        self._act(request, lambda: sequence_version_rollback(from_version_id=shown_active))

    def _act(self, request, change) -> None:
        try:
            version = change()
        except SequenceVersionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        reason = sequence_version_unreadable(version=version)
        if reason:
            text = ACTIVATED_UNREADABLE.format(pk=version.pk, reason=reason)
            self.message_user(request, text, messages.WARNING)
            return
        self.message_user(request, ACTIVATED.format(pk=version.pk))

    @admin.display(description="validation Recall@20")
    def recall(self, version: SequenceModelVersion):
        return version.metrics.get("recall")

    @admin.display(description="on the active version's products")
    def recall_vs_active(self, version: SequenceModelVersion):
        return version.metrics.get("recall_vs_active")

    @admin.display(description="active version's, same products (the decision)")
    def active_recall(self, version: SequenceModelVersion):
        return version.metrics.get("active_recall")

    @admin.display(description="Figures")
    def figures(self, version: SequenceModelVersion) -> str:
        rows = [*version.metrics.items(), *version.dataset.items()]
        if not rows:
            return "–"
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table id="sequence-figures">{}</table>', body)

    @admin.display(description="Training curves")
    def curves(self, version: SequenceModelVersion) -> str:
        if not version.history:
            return "–"
        k = version.params.get("k", 20)
        return sequence_curves_html(label=f"v{version.pk}", history=version.history, k=k)

    @admin.display(description="Training jobs")
    def jobs(self, version: SequenceModelVersion) -> str:
        links = [
            (reverse("admin:behaviour_sequencetrainingjob_change", args=[job.pk]), job)
            for job in version.jobs.all()
        ]
        return format_html_join(", ", '<a href="{}">{}</a>', links) or "–"


CANCEL_MESSAGES = CancelMessages(
    requested="Cancellation of sequence training #{pk} requested; it stops within a batch.",
    cancelled_queued="Sequence training #{pk} was still queued: cancelled, nothing was trained.",
    already_finished="Sequence training #{pk} has already finished ({state}).",
    action_done="{cancelled} queued training(s) cancelled; {asked} running asked to stop.",
)
LIVE_ROWS = (
    LiveRow("State", "state"),
    LiveRow("Phase", "phase"),
    LiveRow("Epoch", "epoch", "epochs"),
    LiveRow("Loss", LiveField("loss", "fixed3")),
    LiveRow("Validation Recall@20", LiveField("recall", "fixed3")),
    LiveRow("Error", "error"),
)
LIVE_TEXTS = LivePageTexts(
    noun="training",
    cancel_requested="Cancellation requested: the training stops after the batch in flight "
    "and its version fails (one already trained stays ready, not activated); the active "
    "version keeps serving.",
    report_link="Show the finished training",
)


@admin.register(SequenceTrainingJob)
class SequenceTrainingJobAdmin(WorkJobAdminMixin, LiveJobAdminMixin, admin.ModelAdmin):
    list_display = ["id", "state", "version", "created_at", "started_at", "finished_at"]
    list_filter = ["state"]
    cancel_messages, cancel_permission = CANCEL_MESSAGES, TRAIN_PERMISSION
    live_rows, live_texts = LIVE_ROWS, LIVE_TEXTS
    readonly_fields = [
        "state",
        "version",
        "progress",
        "attempts",
        "cancel_requested",
        "error",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "heartbeat_worker",
        "heartbeat_phase",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # a training starts from the versions page (or train_behaviour)

    def has_view_permission(self, request, obj=None) -> bool:
        # The train form leads to the job's live page: whoever may train may watch (and cancel).
        return super().has_view_permission(request, obj) or request.user.has_perm(TRAIN_PERMISSION)

    def cancel_job(self, job: SequenceTrainingJob) -> SequenceTrainingJob:
        return sequence_training_cancel(job=job)

    def live_values(self, job: SequenceTrainingJob) -> dict:
        progress = job.progress or {}
        return {
            **live_state(job),
            **{key: progress.get(key) for key in ("phase", "epoch", "epochs", "loss", "recall")},
        }
