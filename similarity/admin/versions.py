"""Model versions in the admin: the train form (adding a version starts its training job) and
each version's page, with activate and roll back; the page's sections are in `version_page`."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse

from core.admin_deletion import deleted_objects_counted

from ..admin_views import lifecycle
from ..ml.options import (
    AUGMENTATIONS,
    BACKBONES,
    LABEL_SOURCES,
    LOSSES,
    METRICS,
    SCHEDULES,
    WEIGHT_CHOICES_HELP,
)
from ..models import Job, ModelVersion
from ..services import model_version_create
from ..services.training_limits import TrainingOptionsError, field_bounds, weights_option
from ..services.version_deletion import DELETABLE, model_version_delete
from ..services.versions import DEFAULT_TRAINING, VersionStateError, training_options_checked
from .version_page import VersionPageSections


class TrainForm(forms.ModelForm):
    """The admin's "train a new model" form; the service creates the version and the job."""

    backbone = forms.ChoiceField(choices=[(name, name) for name in BACKBONES])
    weights = forms.CharField(help_text=WEIGHT_CHOICES_HELP)
    input_size = forms.IntegerField(**field_bounds("input_size"))
    embedding_dim = forms.IntegerField(**field_bounds("embedding_dim"))
    epochs = forms.IntegerField(**field_bounds("epochs"))
    label_source = forms.ChoiceField(choices=[(name, name) for name in LABEL_SOURCES])
    metric = forms.ChoiceField(choices=[(name, name) for name in METRICS])
    augmentation = forms.ChoiceField(
        choices=[(name, name) for name in AUGMENTATIONS],
        help_text="basic: flips, zoom, shift, light. phone: also crops to a third, perspective, "
        "blur, colour and erasing, for shelf and handheld photos (README: the recipe).",
    )
    loss = forms.ChoiceField(choices=[(name, name) for name in LOSSES])
    finetune_fraction = forms.FloatField(
        **field_bounds("finetune_fraction"),
        help_text="Share of the pretrained backbone's top layers fine-tuned after the warm-up.",
    )
    learning_rate_schedule = forms.ChoiceField(
        choices=[(name, name) for name in SCHEDULES],
        help_text="The fine-tuning rate held (constant) or decayed along a half cosine.",
    )
    refit_on_all = forms.BooleanField(
        required=False,
        help_text="After choosing the epoch, train again on every product and serve that.",
    )
    refit_models = forms.IntegerField(
        **field_bounds("refit_models"),
        help_text="Refits from different seeds served side by side (each one more refit, the "
        "vectors embedding_dim longer); 1 serves one.",
    )
    auto_activate = forms.BooleanField(
        required=False, help_text="Activate when it beats the active version on Recall@1."
    )

    class Meta:
        model = ModelVersion
        fields = []

    def clean_weights(self) -> str:
        # Checked here, not on the worker after it decoded the whole catalogue.
        try:
            return weights_option(self.cleaned_data["weights"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        # Options valid one by one can be refused together (embedding_dim × refit_models over
        # what an HNSW index takes): a message on the form, not an error page from the save.
        data = super().clean()
        if not self.errors:
            try:
                training_options_checked({k: v for k, v in data.items() if k != "auto_activate"})
            except TrainingOptionsError as exc:
                for name, why in exc.errors.items():
                    self.add_error(name if name in self.fields else None, why)
        return data


@admin.register(ModelVersion)
class ModelVersionAdmin(VersionPageSections, admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "recall_at_1",
        "baseline_recall_at_1",
        "label_source",
        "created_at",
        "activated_at",
    ]
    list_filter = ["status", "backbone"]
    actions = ["activate"]
    readonly_fields = [
        "serving",
        "status",
        "backbone",
        "weights",
        "weights_used",
        "input_size",
        "embedding_dim",
        "vector_dim",
        "metric",
        "label_source",
        "metrics_table",
        "comparison",
        "gold_set",
        "gold_photos",
        "online_evidence",
        "history",
        "params",
        "dataset_summary",
        "timings",
        "artifact_dir",
        "error",
        "created_at",
        "activated_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TrainForm
        return super().get_form(request, obj, **kwargs)

    def get_changeform_initial_data(self, request):
        auto = settings.PRODSIM_AUTO_ACTIVATE  # the box says what the shop set; a click changes it
        return {**DEFAULT_TRAINING, **settings.PRODSIM_TRAINING_DEFAULTS, "auto_activate": auto}

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TrainForm.base_fields)
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if self.has_activate_permission(request):
            return self.readonly_fields
        return [name for name in self.readonly_fields if name != "serving"]

    def has_add_permission(self, request) -> bool:
        # Adding a version starts a training job: the dedicated permission, not "add".
        return request.user.has_perm("similarity.train_model")

    def has_change_permission(self, request, obj=None) -> bool:
        # A version changes only by training, activation or rollback (their own views): its page
        # is view-only, since the save path here is the train form's and would start a training.
        return False

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm("similarity.activate_model")

    def has_delete_permission(self, request, obj=None) -> bool:
        # The serving version leaves only by activating another; one being built has a worker
        # writing its rows and files. "Delete selected" asks per object.
        if obj is not None and obj.status not in DELETABLE:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        return deleted_objects_counted(self, objs, request)  # a row per photo: counted

    def delete_model(self, request, obj):
        model_version_delete(version=obj)  # its indexes and folder too

    def delete_queryset(self, request, queryset):
        for version in queryset:
            try:
                model_version_delete(version=version)
            except VersionStateError as exc:  # activated or retrained since the confirmation
                self.message_user(request, str(exc), messages.ERROR)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/activate/",
                view(self.activate_view),
                name="similarity_modelversion_activate",
            ),
            path("rollback/", view(self.rollback_view), name="similarity_modelversion_rollback"),
            *super().get_urls(),
        ]

    def activate_view(self, request, object_id):
        return lifecycle.activate_view(request, model_admin=self, object_id=object_id)

    def rollback_view(self, request):
        return lifecycle.rollback_view(request, model_admin=self)

    def save_model(self, request, obj, form, change):
        data = dict(form.cleaned_data)
        version = model_version_create(auto_activate=data.pop("auto_activate"), **data)
        obj.pk = version.pk

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        job = Job.objects.get(model_version_id=obj.pk, kind=Job.Kind.TRAIN)
        messages.success(request, f"Training of v{obj.pk} queued on the ml worker.")
        return HttpResponseRedirect(reverse("admin:similarity_job_change", args=[job.pk]))

    @admin.action(description="Activate the selected version…", permissions=["activate"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return None
        # The action only chooses the version; the switch waits for the confirmation page.
        url = reverse("admin:similarity_modelversion_activate", args=[queryset.get().pk])
        return HttpResponseRedirect(url)
