from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog import selectors as catalog_selectors

from .admin_views import lifecycle
from .admin_views.compare import comparison_html, gold_set_html
from .ml.options import BACKBONES, LABEL_SOURCES, METRIC_COLUMNS, METRICS, WEIGHT_CHOICES_HELP
from .models import FusionWeights, Job, Judgment, MerchandisingRule, ModelVersion
from .selectors import job_progress, job_progress_summary, rollback_target
from .selectors.merchandising import rule_in_force
from .services import job_cancel, model_version_create
from .services.versions import DEFAULT_TRAINING

TOUCHED_PRODUCTS_SHOWN = 20  # a rule's page lists this many matches, then only their count


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

    @admin.display(description="Compared with the active version and the baselines")
    def comparison(self, version: ModelVersion) -> str:
        return comparison_html(version=version)

    @admin.display(description="Gold set (admins' judged pairs)")
    def gold_set(self, version: ModelVersion) -> str:
        return gold_set_html(version=version)

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
        for job in queryset:
            job_cancel(job=job)
        self.message_user(request, f"Cancellation requested for {queryset.count()} job(s).")

    @admin.display(description="Progress")
    def progress_summary(self, job: Job) -> str:
        return job_progress_summary(job=job)


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
        "applies_to",
        "touches",
        "position",
        "factor",
        "valid_from",
        "valid_until",
        "is_active",
        "in_force_now",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["source_product", "source_category", "target_product"]
    autocomplete_fields = ["source_product", "source_category", "target_product"]
    search_fields = ["note", "brand", "tag", "target_product__sku", "source_product__sku"]
    readonly_fields = ["in_force_now", "touched_products"]

    @admin.display(description="Applies to the similar lists of")
    def applies_to(self, rule: MerchandisingRule) -> str:
        if rule.source_product is not None:
            return _product_link(rule.source_product)
        if rule.source_category is not None:
            return f"category {rule.source_category.path} (and below)"
        return "every product"

    @admin.display(description="Products it touches")
    def touches(self, rule: MerchandisingRule) -> str:
        # The list shows the matching brand/tag, not the products: one query per row otherwise.
        if rule.target_product is not None:
            return _product_link(rule.target_product)
        return " or ".join(
            part
            for part in (rule.brand and f"brand {rule.brand}", rule.tag and f"tag {rule.tag}")
            if part
        )

    @admin.display(description="In force now", boolean=True)
    def in_force_now(self, rule: MerchandisingRule) -> bool:
        return rule_in_force(rule)

    @admin.display(description="Products it touches")
    def touched_products(self, rule: MerchandisingRule) -> str:
        if rule.pk is None:
            return "–"
        if rule.target_product is not None:
            return _product_link(rule.target_product)
        products = catalog_selectors.products_with_brand_or_tag(brand=rule.brand, tag=rule.tag)
        shown = list(products[:TOUCHED_PRODUCTS_SHOWN])
        if not shown:
            return "no active product matches"
        links = format_html_join(mark_safe("<br>"), "{}", ((_product_link(p),) for p in shown))
        total = products.count() if len(shown) == TOUCHED_PRODUCTS_SHOWN else len(shown)
        return format_html("{} active product(s):<br>{}", total, links)


def _product_link(product) -> str:
    url = reverse("admin:catalog_product_change", args=[product.pk])
    return format_html('<a href="{}">{} – {}</a>', url, product.sku, product.title)


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    """The gold set: verdicts are given in the preview; here they are listed and corrected."""

    list_display = ["source", "target", "verdict", "category_path", "user", "updated_at"]
    list_filter = ["verdict", "category_path"]
    list_select_related = ["source", "target", "user"]
    search_fields = ["source__sku", "target__sku", "category_path"]
    fields = ["source", "target", "verdict", "category_path", "user", "created_at", "updated_at"]
    readonly_fields = ["source", "target", "category_path", "user", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a pair is judged where it is seen: the preview
