"""The gold photo admin's forms: the upload (photo and SKU checked by the service before
anything is stored) and the edit of a filed photo's SKU or note."""

from django import forms
from django.conf import settings

from catalog.images import ERROR_TOO_LARGE, InvalidImage
from catalog.skus import MAX_SKU_CHARS, sku_normalised

from ..models import GoldPhoto
from ..services.gold_photos import GoldPhotoRejected, gold_photo_check, gold_sku_check


class ExpectedSkuField(forms.CharField):
    """The SKU as typed, for the catalogue's lookup (that spelling, then its NFC form). One too
    long as typed is taken in its NFC form, the one the catalogue stores and measures: an
    accent typed decomposed (a macOS export) is two characters, composed one."""

    def to_python(self, value):
        value = super().to_python(value)
        return value if len(value) <= MAX_SKU_CHARS else sku_normalised(value)


class GoldPhotoForm(forms.ModelForm):
    """Upload form: the service checks photo and SKU (its message becomes the form error);
    the admin's save_model stores the checked photo once every field is valid."""

    photo = forms.FileField(help_text="A shopper-like photo of one product (JPEG, PNG or WebP).")

    class Meta:
        model = GoldPhoto
        fields = ["expected_sku", "note"]
        field_classes = {"expected_sku": ExpectedSkuField}

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
        field_classes = {"expected_sku": ExpectedSkuField}

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
