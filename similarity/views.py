"""Storefront page for visual search: upload a photo (or start from a catalogue product)."""

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from catalog import selectors as catalog_selectors
from catalog.images import InvalidImage

from . import selectors, vector_store
from .selectors import SimilarQuery
from .services.visual import VisualSearchUnavailable, image_query_vector

RESULTS = 24
ERROR_TOO_LARGE = "the photo is larger than {limit} MB"


class VisualSearchForm(forms.Form):
    photo = forms.FileField(required=False, help_text="JPEG, PNG or WebP")
    category = forms.ChoiceField(required=False)
    in_stock = forms.BooleanField(required=False, label="In stock only")

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


@require_http_methods(["GET", "POST"])
def visual_search(request):
    form = VisualSearchForm(request.POST or None, request.FILES or None)
    context = {"form": form, "result": None, "error": ""}
    source = None
    if sku := request.GET.get("sku"):
        source = catalog_selectors.product_get(sku=sku)
    vector = None
    if request.method == "POST" and form.is_valid() and form.cleaned_data["photo"]:
        try:
            vector = image_query_vector(data=form.cleaned_data["photo"].read())
        except InvalidImage as exc:
            form.add_error("photo", str(exc))
        except VisualSearchUnavailable as exc:
            context["error"] = str(exc)
    elif source is not None and (version := selectors.active_version()) is not None:
        vector = vector_store.product_vector(version=version, product_id=source.pk)
    if vector is not None:
        data = form.cleaned_data if form.is_bound and form.is_valid() else {}
        query = SimilarQuery(
            k=RESULTS,
            category=data.get("category") or "any",
            in_stock_only=bool(data.get("in_stock")),
            exclude_ids=(source.pk,) if source is not None else (),
        )
        context["result"] = selectors.similar_to_vector(vector=vector, query=query)
    context["source"] = source
    return render(request, "similarity/visual_search.html", context)
