"""The gold photo set in the admin: upload a query photo with its SKU; see every version's score."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.images import InvalidImage

from ..models import GoldPhoto, ModelVersion
from ..services.gold_photos import GoldPhotoRejected, gold_photo_add, gold_photos_score

SERVABLE = [ModelVersion.Status.ACTIVE, ModelVersion.Status.READY, ModelVersion.Status.ARCHIVED]
NO_PHOTOS = "– (no gold photos yet: add them under Similarity › Gold photos)"


class GoldPhotoForm(forms.ModelForm):
    """Upload form: the service validates photo and SKU; its message becomes the form error."""

    photo = forms.FileField(help_text="A shopper-like photo of one product (JPEG, PNG or WebP).")

    class Meta:
        model = GoldPhoto
        fields = ["expected_sku", "note"]

    def clean(self):
        cleaned = super().clean()
        upload, sku = cleaned.get("photo"), cleaned.get("expected_sku")
        if upload and sku:
            try:
                self.instance = gold_photo_add(
                    data=upload.read(), expected_sku=sku, note=cleaned.get("note", "")
                )
            except (InvalidImage, GoldPhotoRejected) as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


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
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:  # only the SKU and note change after upload
            obj.save(update_fields=["expected_sku", "note"])
        # A new photo was stored by the form's clean(), through the service.

    def get_urls(self):
        view = self.admin_site.admin_view
        scores = path("scores/", view(self.scores_view), name="similarity_goldphoto_scores")
        return [scores, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {"scores_url": reverse("admin:similarity_goldphoto_scores")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def scores_view(self, request):
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
        return "– (scored once the version is ready)"
    score = gold_photos_score(version=version)
    if score.photos == 0:
        return NO_PHOTOS
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
