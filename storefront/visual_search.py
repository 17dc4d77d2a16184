"""Search by photo: an uploaded photo, or a product's own ("More that look like this" on its
page), ranked by the image version this process serves."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from catalog import selectors
from catalog.images import InvalidImage
from core.session_turns import session_turns
from similarity import selectors as similarity_selectors
from similarity import vector_store
from similarity.selectors import SimilarQuery
from similarity.services.visual import VisualSearchUnavailable, image_query_vector

from .forms import VisualSearchForm

VISUAL_RESULTS = 24
ERROR_NO_PHOTO = "Choose a photo to search with."
ERROR_NO_IMAGE_MODEL = "no image model is active"  # for staff, as the service's errors are


@require_http_methods(["GET", "POST"])
@session_turns
def visual_search(request):
    asked = request.POST if request.method == "POST" else request.GET
    form = VisualSearchForm(
        request.POST or None, request.FILES or None, initial={"sku": asked.get("sku", "")}
    )
    context = {"form": form, "result": None, "error": "", "no_photo_of_source": False}
    source = selectors.product_get(sku=sku) if (sku := asked.get("sku")) else None
    posted = request.method == "POST" and form.is_valid()
    vector, version = None, similarity_selectors.serving_version()  # one read for both steps
    if posted and form.cleaned_data["photo"]:
        source = None  # a chosen photo is the question now, not the product's
        try:
            vector = image_query_vector(data=form.cleaned_data["photo"].read(), version=version)
        except InvalidImage as exc:
            form.add_error("photo", str(exc))
        except VisualSearchUnavailable as exc:
            context["error"] = str(exc)
    elif source is not None and (posted or request.method == "GET"):
        if version is None:
            context["error"] = ERROR_NO_IMAGE_MODEL
        elif (vector := vector_store.product_vector(version=version, product_id=source.pk)) is None:
            context["no_photo_of_source"] = True
    elif posted:
        form.add_error("photo", ERROR_NO_PHOTO)
    if vector is not None:
        data = form.cleaned_data if posted else {}
        query = SimilarQuery(
            k=VISUAL_RESULTS,
            category=data.get("category") or "any",
            in_stock_only=bool(data.get("in_stock")),
            exclude_ids=(source.pk,) if source is not None else (),
        )
        context["result"] = similarity_selectors.similar_to_vector(
            vector=vector, query=query, version=version
        )
    return render(request, "storefront/visual_search.html", {**context, "source": source})
