"""The gold photo set in the admin: upload a query photo with its SKU; see every version's score."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.images import ERROR_TOO_LARGE, InvalidImage

from ..models import GoldPhoto, ModelVersion
from ..services.gold_photos import (
    GoldPhotoRejected,
    gold_photo_check,
    gold_photo_store,
    gold_photos_score,
    gold_sku_check,
)

SERVABLE = [ModelVersion.Status.ACTIVE, ModelVersion.Status.READY, ModelVersion.Status.ARCHIVED]
NO_PHOTOS = "– (no gold photos yet: add them under Similarity › Gold photos)"


class GoldPhotoForm(forms.ModelForm):
    """Upload form: the service checks photo and SKU (its message becomes the form error);
    the admin's save_model stores the checked photo once every field is valid."""

    photo = forms.FileField(help_text="A shopper-like photo of one product (JPEG, PNG or WebP).")

    class Meta:
        model = GoldPhoto
        fields = ["expected_sku", "note"]

    def clean_photo(self):
        upload, limit = self.cleaned_data["photo"], settings.PRODSIM_MAX_IMAGE_BYTES
        if upload.size > limit:  # before reading any byte of it
            raise forms.ValidationError(ERROR_TOO_LARGE.format(limit=limit))
        return upload

    def clean(self):
        cleaned = super().clean()
        upload, sku = cleaned.get("photo"), cleaned.get("expected_sku")
        if upload and sku:
            limit = settings.PRODSIM_MAX_IMAGE_BYTES  # + 1: a file larger than it said is refused
            try:
                self.checked = gold_photo_check(data=upload.read(limit + 1), expected_sku=sku)
            except (InvalidImage, GoldPhotoRejected) as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


class GoldPhotoChangeForm(forms.ModelForm):
    """Edit form: a new SKU is checked as on upload (the note alone may always change)."""

    class Meta:
        model = GoldPhoto
        fields = ["expected_sku", "note"]

    def clean_expected_sku(self):
        sku = self.cleaned_data["expected_sku"]
        if "expected_sku" not in self.changed_data:
            return sku
        try:
            return gold_sku_check(
                expected_sku=sku, sha256=self.instance.sha256, photo_id=self.instance.pk
            )
        except GoldPhotoRejected as exc:
            raise forms.ValidationError(str(exc)) from exc


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
        return "– (scored once the version is ready)"
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
