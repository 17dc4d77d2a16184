from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .ml.options import BACKBONES, LABEL_SOURCES, METRIC_COLUMNS, METRICS, WEIGHT_CHOICES_HELP
from .models import FusionWeights, Job, MerchandisingRule, ModelVersion
from .services import VersionStateError, job_cancel, model_version_activate, model_version_create
from .services.versions import DEFAULT_TRAINING


class TrainForm(forms.ModelForm):
    """The admin's "train a new model" form; the service creates the version and the job."""

    backbone = forms.ChoiceField(choices=[(name, name) for name in BACKBONES])
    weights = forms.CharField(help_text=WEIGHT_CHOICES_HELP)
    input_size = forms.IntegerField(min_value=32, max_value=512)
    embedding_dim = forms.IntegerField(min_value=8, max_value=2000)
    epochs = forms.IntegerField(min_value=1, max_value=200)
    label_source = forms.ChoiceField(choices=[(name, name) for name in LABEL_SOURCES])
    metric = forms.ChoiceField(choices=[(name, name) for name in METRICS])
    auto_activate = forms.BooleanField(
        required=False, help_text="Activate when it beats the active version on Recall@1."
    )

    class Meta:
        model = ModelVersion
        fields = []


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
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
        "status",
        "backbone",
        "weights",
        "weights_used",
        "input_size",
        "embedding_dim",
        "metric",
        "label_source",
        "metrics_table",
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
        return {**DEFAULT_TRAINING, "auto_activate": True}

    def get_fields(self, request, obj=None):
        return list(TrainForm.base_fields) if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

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

    @admin.action(description="Activate the selected version (atomic switch)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        try:
            version = model_version_activate(version=queryset.get())
        except VersionStateError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"v{version.pk} is now active.")

    @admin.display(description="R@1")
    def recall_at_1(self, version: ModelVersion) -> str:
        value = version.metrics.get("model", {}).get("recall_at_1")
        return "–" if value is None else f"{value:.3f}"

    @admin.display(description="best baseline R@1")
    def baseline_recall_at_1(self, version: ModelVersion) -> str:
        values = [m.get("recall_at_1", 0) for name, m in version.metrics.items() if name != "model"]
        return f"{max(values):.3f}" if values else "–"

    @admin.display(description="Held-out retrieval quality")
    def metrics_table(self, version: ModelVersion) -> str:
        if not version.metrics:
            return "–"
        header = format_html_join(
            "", "<th>{}</th>", ((c.replace("_", " "),) for c in METRIC_COLUMNS)
        )
        rows = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (
                    name,
                    format_html_join(
                        "", "<td>{}</td>", ((f"{values.get(c, 0):.3f}",) for c in METRIC_COLUMNS)
                    ),
                )
                for name, values in version.metrics.items()
            ),
        )
        return format_html("<table><tr><th></th>{}</tr>{}</table>", header, rows)

    @admin.display(description="Dataset")
    def dataset_summary(self, version: ModelVersion) -> str:
        data = version.dataset
        return (
            f"{data.get('images')} images, {data.get('labels')} labels ({data.get('label_source')})"
        )


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

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        for job in queryset:
            job_cancel(job=job)
        self.message_user(request, f"Cancellation requested for {queryset.count()} job(s).")

    @admin.display(description="Progress")
    def progress_summary(self, job: Job) -> str:
        p = job.progress
        parts = [p.get("phase", "")]
        if "epoch" in p:
            parts.append(f"epoch {p['epoch']}/{p['epochs']} loss {p['loss']:.3f}")
            if p.get("val_recall_at_1") is not None:
                parts.append(f"val R@1 {p['val_recall_at_1']:.3f}")
        if "total" in p:
            parts.append(f"{p['done']}/{p['total']} images")
        if p.get("images_per_s"):
            parts.append(f"{p['images_per_s']} img/s")
        if p.get("eta_s") is not None:
            parts.append(f"ETA {p['eta_s']} s")
        return " · ".join(part for part in parts if part) or "–"


@admin.register(FusionWeights)
class FusionWeightsAdmin(admin.ModelAdmin):
    """Signal weights of the fused score; a category's row applies to its subtree."""

    list_display = ["__str__", "image", "text", "text_learned", "attributes", "price"]
    autocomplete_fields = ["category"]


@admin.register(MerchandisingRule)
class MerchandisingRuleAdmin(admin.ModelAdmin):
    """Pins, blocks, boosts and buries, with validity dates and the products they touch."""

    list_display = [
        "__str__",
        "kind",
        "source_product",
        "source_category",
        "target_product",
        "position",
        "brand",
        "tag",
        "factor",
        "valid_from",
        "valid_until",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    autocomplete_fields = ["source_product", "source_category", "target_product"]
    search_fields = ["note", "brand", "tag", "target_product__sku", "source_product__sku"]
