"""The read-only sections of a model version's admin page: serving state, held-out figures,
comparison, gold set, online evidence and the dataset snapshot."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ..admin_sections import online_evidence_html
from ..admin_views.compare import comparison_html, gold_set_html, never_ready_why
from ..models import ModelVersion
from ..selectors import rollback_target
from ..selectors.compare import BASELINES
from .gold_photos import gold_photos_html
from .held_out import held_out_html


class VersionPageSections:
    """ModelVersionAdmin's display fields; each renders one section from the version row."""

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
        if version.status == ModelVersion.Status.FAILED:
            return f"failed: {never_ready_why(version)}, so it can never be activated."
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
        return held_out_html(version.metrics)

    @admin.display(description="Gold photos (admins' query photos with the expected SKU)")
    def gold_photos(self, version: ModelVersion) -> str:
        return gold_photos_html(version=version)

    @admin.display(description="Compared with the active version and the baselines")
    def comparison(self, version: ModelVersion) -> str:
        return comparison_html(version=version)

    @admin.display(description="Gold set (admins' judged pairs)")
    def gold_set(self, version: ModelVersion) -> str:
        return gold_set_html(version=version)

    @admin.display(description="Online evidence: A/B tests (similar items strip, CTR in %)")
    def online_evidence(self, version: ModelVersion) -> str:
        # The experiments app owns the counting and the intervals; the page only shows them.
        return online_evidence_html(version=version)

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
