"""Model versions in the admin: the train form (adding a version starts its training job) and
each version's page: figures, comparison, gold set, online evidence, activate and roll back."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from experiments.admin_html import version_experiments_html

from ..admin_views import lifecycle
from ..admin_views.compare import comparison_html, gold_set_html
from ..ml.options import BACKBONES, LABEL_SOURCES, METRIC_COLUMNS, METRICS, WEIGHT_CHOICES_HELP
from ..models import Job, ModelVersion
from ..selectors import rollback_target
from ..selectors.compare import BASELINES
from ..services import model_version_create
from ..services.versions import DEFAULT_TRAINING


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
        "serving",
        "status",
        "backbone",
        "weights",
        "weights_used",
        "input_size",
        "embedding_dim",
        "metric",
        "label_source",
        "metrics_table",
        "comparison",
        "gold_set",
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
        return {**DEFAULT_TRAINING, "auto_activate": True}

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

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm("similarity.activate_model")

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

    @admin.display(description="Serving")
    def serving(self, version: ModelVersion) -> str:
        if version.status == ModelVersion.Status.ACTIVE:
            target = rollback_target()
            if target is None:
                return "Active (no earlier version to roll back to)."
            url = reverse("admin:similarity_modelversion_rollback")
            return format_html(
                'Active. <a class="button" href="{}">Roll back to v{}…</a>', url, target.pk
            )
        if version.is_servable:
            url = reverse("admin:similarity_modelversion_activate", args=[version.pk])
            return format_html('<a class="button" href="{}">Activate v{}…</a>', url, version.pk)
        return f"{version.status}: can be activated once it is ready."

    @admin.display(description="R@1")
    def recall_at_1(self, version: ModelVersion) -> str:
        value = version.metrics.get("model", {}).get("recall_at_1")
        return "–" if value is None else f"{value:.3f}"

    @admin.display(description="best baseline R@1")
    def baseline_recall_at_1(self, version: ModelVersion) -> str:
        # Only the image baselines: the text tower's rows (text_to_image…) are not baselines.
        metrics = version.metrics
        values = [metrics[name].get("recall_at_1", 0) for name in BASELINES if name in metrics]
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

    @admin.display(description="Compared with the active version and the baselines")
    def comparison(self, version: ModelVersion) -> str:
        return comparison_html(version=version)

    @admin.display(description="Gold set (admins' judged pairs)")
    def gold_set(self, version: ModelVersion) -> str:
        return gold_set_html(version=version)

    @admin.display(description="Online evidence: A/B tests (similar items strip, CTR in %)")
    def online_evidence(self, version: ModelVersion) -> str:
        # The experiments app owns the counting and the intervals; the page only shows them.
        return version_experiments_html(version=version)

    @admin.display(description="Dataset")
    def dataset_summary(self, version: ModelVersion) -> str:
        data = version.dataset
        if not data:
            return "– (snapshotted when training starts)"
        splits = data.get("images", {})
        return (
            f"{sum(splits.values())} images (train {splits.get('train', 0)} / validation "
            f"{splits.get('val', 0)} / test {splits.get('test', 0)}), {data.get('labels')} "
            f"labels ({data.get('label_source')}), sha256 {data.get('sha256', '')[:12]}"
        )
