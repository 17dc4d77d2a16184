"""The lexical index: which field weights the catalogue produced, and how they were chosen."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from ..ml.lexical import FIELDS, IDF_DRIFT_SHARE
from ..models import LexicalIndex


@admin.register(LexicalIndex)
class LexicalIndexAdmin(admin.ModelAdmin):
    """Read-only: a build is made by `manage.py reindex_text [--tune]` or after imports."""

    list_display = ["__str__", "is_current", "field_weights", "tuned_by", "drift", "created_at"]
    fields = ["documents", "is_current", "created_at", "field_weights", "tuning_evidence", "drift"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A rebuild replaces an index (and drops the old one's HNSW index); deleting one here
        # would take every product's text vector from search, and leave its HNSW index behind.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("idf")

    @admin.display(description="field weights")
    def field_weights(self, obj: LexicalIndex) -> str:
        weights = (obj.config or {}).get("fields", {})
        shown = ((name, f"{weights[name]:g}") for name in FIELDS if name in weights)
        return format_html_join(", ", "{} {}", shown)

    @admin.display(description="tuned by")
    def tuned_by(self, obj: LexicalIndex) -> str:
        return (obj.tuning or {}).get("method", "—")

    @admin.display(description="tuning")
    def tuning_evidence(self, obj: LexicalIndex) -> str:
        tuning = obj.tuning or {}
        if not tuning:
            return "—"
        return format_html(
            "{} — MRR of the pseudo-queries {} with the default weights, {} tuned. "
            "Share of products filling each field: {}.",
            tuning.get("note", ""),
            tuning.get("mrr_default"),
            tuning.get("mrr_tuned"),
            ", ".join(f"{k} {v:.0%}" for k, v in tuning.get("field_share", {}).items()),
        )

    @admin.display(description="changed since the IDF fit")
    def drift(self, obj: LexicalIndex) -> str:
        share = obj.changed_products / obj.documents if obj.documents else 0.0
        return f"{obj.changed_products} ({share:.0%}; refit at {IDF_DRIFT_SHARE:.0%})"
