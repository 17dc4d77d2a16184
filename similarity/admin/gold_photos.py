"""The gold photo set in the admin: upload a query photo with its SKU; see every version's score."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..admin_views.compare import unscored_note
from ..models import GoldPhoto, ModelVersion
from ..services.gold_photos import GoldPhotoRejected, gold_photo_store, gold_photos_score
from .gold_photo_forms import GoldPhotoChangeForm, GoldPhotoForm

SERVABLE = [ModelVersion.Status.ACTIVE, ModelVersion.Status.READY, ModelVersion.Status.ARCHIVED]
NO_PHOTOS = "– (no gold photos yet: add them under Similarity › Gold photos)"


@admin.register(GoldPhoto)
class GoldPhotoAdmin(admin.ModelAdmin):
    """Admins' query photos with the expected SKU; the list links to every version's score."""

    form = GoldPhotoForm
    list_display = ["__str__", "expected_sku", "note", "created_at"]
    search_fields = ["expected_sku", "note"]
    readonly_fields = ["sha256", "created_at"]

    def get_fields(self, request, obj=None):
        return (
            ["photo", "expected_sku", "note"]
            if obj is None
            else ["expected_sku", "note", *self.readonly_fields]
        )

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = GoldPhotoChangeForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:  # only the SKU and note change after upload
            obj.save(update_fields=["expected_sku", "note"])
            return
        stored = gold_photo_store(form.checked, note=obj.note)
        obj.pk, obj.created_at = stored.pk, stored.created_at  # the log and redirect use `obj`

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except GoldPhotoRejected as exc:  # save_model: the same photo was filed meanwhile
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:similarity_goldphoto_changelist"))

    def get_urls(self):
        view = self.admin_site.admin_view
        scores = path("scores/", view(self.scores_view), name="similarity_goldphoto_scores")
        return [scores, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {"scores_url": reverse("admin:similarity_goldphoto_scores")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def scores_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        versions = ModelVersion.objects.filter(status__in=SERVABLE).order_by("-pk")
        context = {
            **self.admin_site.each_context(request),
            "title": "Gold photos: every servable version",
            "scores": [(version, gold_photos_score(version=version)) for version in versions],
        }
        return TemplateResponse(request, "admin/similarity/goldphoto_scores.html", context)


def gold_photos_html(*, version: ModelVersion) -> str:
    """One version's Recall@1/@10 on the gold photos and its misses (expected → found)."""
    if not version.is_servable:
        return unscored_note(version)
    score = gold_photos_score(version=version)
    if score.photos == 0:
        return NO_PHOTOS
    if score.unscorable:
        return score.unscorable
    if score.scored == 0:
        return f"– (none of the {score.photos} gold photos' SKUs is in the catalogue)"
    misses = format_html_join(
        "",
        "<li>photo {}: expected {}, found {}</li>",
        ((m.photo_id, m.expected_sku, ", ".join(m.found_skus)) for m in score.misses),
    )
    return format_html(
        "R@1 {}, R@10 {} on {} of {} photos<ul>{}</ul>",
        f"{score.recall_at_1:.3f}",
        f"{score.recall_at_10:.3f}",
        score.scored,
        score.photos,
        misses,
    )
