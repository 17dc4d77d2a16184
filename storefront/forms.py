from django import forms
from django.conf import settings

from catalog import selectors as catalog_selectors

ERROR_TOO_LARGE = "the photo is larger than {limit} MB"
# The file picker offers only what catalog.images accepts (ALLOWED_FORMATS), as the help says;
# the server still checks every upload.
PHOTO_TYPES = "image/jpeg,image/png,image/webp"


class VisualSearchForm(forms.Form):
    photo = forms.FileField(
        required=False,
        help_text="JPEG, PNG or WebP",
        widget=forms.ClearableFileInput(attrs={"accept": PHOTO_TYPES}),
    )
    category = forms.ChoiceField(required=False)
    in_stock = forms.BooleanField(required=False, label="In stock only")
    # "More that look like this" on a product page: its photo is the question until one is chosen.
    sku = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "Any category")] + [
            (c.path, c.path) for c in catalog_selectors.category_list_with_counts()
        ]

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > settings.PRODSIM_MAX_IMAGE_BYTES:  # before reading any byte
            raise forms.ValidationError(
                ERROR_TOO_LARGE.format(limit=settings.PRODSIM_MAX_IMAGE_BYTES // 2**20)
            )
        return photo
