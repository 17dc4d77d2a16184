"""Search by a photo, by free text, or by another shop's product record."""

import time

from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from catalog.images import InvalidImage
from core.api_errors import ServiceUnavailable

from ... import selectors
from ...services.visual import VisualSearchUnavailable, image_query_vector
from ..serializers import (
    ImageSearchFormSerializer,
    ImageSearchSerializer,
    MatchInputSerializer,
    ResultListSerializer,
    SourcelessParamsSerializer,
    TextSearchParamsSerializer,
    bracketed_lists,
    list_param,
)
from .responses import result_body, similar_query, timed_response

ERROR_QUERY_AND_FORM = (
    "{name} is in both the query string and the form with different values; send it once"
)


class ImageSearchApi(APIView):
    """Products that look like an uploaded photo (multipart field `image`)."""

    reads_only = True  # POST carries the query; nothing is written

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImageSearchFormSerializer},
        parameters=[SourcelessParamsSerializer],
        responses=ResultListSerializer,
        description="Products that look like an uploaded photo (multipart field `image`). The "
        "filters may be form fields or in the query string, as to the GET lists; one sent both "
        "ways with different values is a 400.",
    )
    def post(self, request):
        started = time.perf_counter()
        params = ImageSearchSerializer(data=_query_and_form(request))
        params.is_valid(raise_exception=True)
        version = selectors.serving_version()  # read once: the photo's and the search's
        try:
            vector = image_query_vector(data=params.validated_data["image"].read(), version=version)
        except InvalidImage as exc:
            raise ValidationError({"image": [str(exc)]}) from exc
        except VisualSearchUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        query = similar_query(params.validated_data)
        result = selectors.similar_to_vector(vector=vector, query=query, version=version)
        return timed_response(result_body(result, params.validated_data["explain"]), started)


def _query_and_form(request) -> QueryDict:
    """The query string's parameters and the form's fields as one: partners pass the filters
    as to the GET lists. Neither silently wins a disagreement (k=3 in the URL, k=8 in the
    form): the answer could not say which was meant."""
    merged = bracketed_lists(request.query_params).copy()
    form: dict[str, list] = {}
    for key in request.data:  # a list as `brand[]` too, as the query string's
        form.setdefault(list_param(key), []).extend(request.data.getlist(key))
    conflicts = {}
    for name, form_values in form.items():
        if name in merged and merged.getlist(name) != form_values:
            conflicts[name] = [ERROR_QUERY_AND_FORM.format(name=name)]
        merged.setlist(name, form_values)
    if conflicts:
        raise ValidationError(conflicts)
    return merged


class TextSearchApi(APIView):
    """Products for a free-text query, by their words and their pictures."""

    @extend_schema(parameters=[TextSearchParamsSerializer], responses=ResultListSerializer)
    def get(self, request):
        params = TextSearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return _search(params.validated_data["q"], params.validated_data["k"])


class ProductMatchApi(APIView):
    """This catalogue's products matching another shop's product record (by its words)."""

    reads_only = True  # POST carries the query; nothing is written

    @extend_schema(request=MatchInputSerializer, responses=ResultListSerializer)
    def post(self, request):
        data = MatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        fields = {
            "title": values["title"],
            "brand": values["brand"],
            "model": values["model_number"],
            "description": values["description"],
        }
        return _search(values["title"], values["k"], fields)


def _search(text: str, k: int, fields: dict[str, str] | None = None) -> Response:
    started = time.perf_counter()
    hits = selectors.search_products(query=text, limit=k, fields=fields) or []
    products = catalog_selectors.products_by_ids(ids=[hit.product_id for hit in hits])
    version = selectors.active_version()
    return timed_response(
        {
            "k_requested": k,
            "k_returned": sum(hit.product_id in products for hit in hits),
            "model_version": version.pk if version else None,
            "results": [
                {
                    "sku": products[hit.product_id].sku,
                    "title": products[hit.product_id].title,
                    "score": round(hit.score, 6),
                    "tier": "lexical" if hit.lexical else "visual",
                    "explain": {"lexical": hit.lexical, "visual": hit.visual},
                }
                for hit in hits
                if hit.product_id in products
            ],
        },
        started,
    )
