import functools
import time

from django.http import QueryDict
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from catalog.images import InvalidImage

from .. import cache as similar_cache
from .. import selectors
from ..models import Job, ModelVersion
from ..selectors import SimilarQuery, SimilarResult
from ..services.visual import VisualSearchUnavailable, image_query_vector
from .serializers import (
    ImageSearchSerializer,
    JobOutputSerializer,
    MatchInputSerializer,
    ModelVersionOutputSerializer,
    ResultListSerializer,
    SimilarBatchSerializer,
    SimilarParamsSerializer,
    TextSearchParamsSerializer,
)


class ServiceUnavailable(APIException):
    status_code = 503
    default_code = "unavailable"


def _query(values: dict) -> SimilarQuery:
    # No query for nothing: even an empty filter cost ~0.3 ms of queryset building per request.
    exclude = values["exclude"] and catalog_selectors.product_ids_for_skus(skus=values["exclude"])
    return SimilarQuery(
        k=values["k"],
        category=values["category"],
        categories=tuple(values["categories"]),
        brands=tuple(values["brand"]),
        price_min=values.get("price_min"),
        price_max=values.get("price_max"),
        price_band=values.get("price_band"),
        in_stock_only=values["in_stock"],
        include_variants=values["include_variants"],
        exclude_ids=tuple(exclude),
        diversity=values.get("diversity"),
        with_images=False,  # a JSON answer carries no image URLs
    )


def _body(result: SimilarResult, explain: bool) -> dict:
    return {
        "k_requested": result.k_requested,
        "k_returned": result.k_returned,
        "model_version": result.model_version,
        "results": [
            {
                "sku": item.product.sku,
                "title": item.product.title,
                "score": round(item.score, 6),
                "tier": item.tier,
                **({"explain": item.breakdown.as_dict()} if explain else {}),
            }
            for item in result.items
        ],
    }


@functools.lru_cache(maxsize=1024)
def _similar_params(query_string: str) -> dict:
    """The validated similar-items parameters of a query string (read-only; invalid ones raise,
    and are not kept). Validation is pure and partners repeat the same few parameter sets; a
    fresh serializer deep-copies its fields, ~0.4 ms of a ~10 ms request."""
    # Decoded as WSGIRequest decodes request.GET (WSGI strings carry latin-1 bytes).
    params = SimilarParamsSerializer(data=QueryDict(query_string.encode("iso-8859-1")))
    params.is_valid(raise_exception=True)
    return params.validated_data


def _timed(body: dict, started: float, *, cache_state: str = "miss") -> Response:
    # Timing goes in a header, so a cached body is byte-identical to a fresh one.
    elapsed = (time.perf_counter() - started) * 1000
    return Response(
        body, headers={"Server-Timing": f"app;dur={elapsed:.2f}", "X-Cache": cache_state}
    )


def _source(sku: str):
    product = catalog_selectors.product_get(sku=sku, with_images=False)
    if product is None:
        raise NotFound(f"no active product with SKU {sku!r}")
    return product


class SimilarProductsApi(APIView):
    """Products similar to one product, best first: filters, diversity, explain."""

    @extend_schema(parameters=[SimilarParamsSerializer], responses=ResultListSerializer)
    def get(self, request, sku: str):
        started = time.perf_counter()
        params = _similar_params(request.META.get("QUERY_STRING", ""))
        # The key is read before the product: a change committed meanwhile bumps a generation,
        # so this answer lands under a key that is already unreachable, never a stale live one.
        key = similar_cache.entry_key(sku=sku, params=params)
        if (body := similar_cache.get(key)) is not None:
            return _timed(body, started, cache_state="hit")
        result = selectors.similar_products_for(product=_source(sku), query=_query(params))
        body = _body(result, params["explain"])
        similar_cache.put(key, body)
        return _timed(body, started)


class SimilarBatchApi(APIView):
    """Similar items for many SKUs in one call (same parameters for all)."""

    reads_only = True  # POST carries the query; nothing is written

    @extend_schema(
        request=SimilarBatchSerializer,
        responses=inline_serializer(
            "SimilarBatchOutput",
            {"results": serializers.DictField(child=ResultListSerializer(allow_null=True))},
        ),
    )
    def post(self, request):
        params = SimilarBatchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        answers = {}
        for sku in dict.fromkeys(values["skus"]):
            product = catalog_selectors.product_get(sku=sku, with_images=False)
            answers[sku] = (
                None
                if product is None
                else _body(
                    selectors.similar_products_for(product=product, query=_query(values)),
                    values["explain"],
                )
            )
        return Response({"results": answers})


class ImageSearchApi(APIView):
    """Products that look like an uploaded photo (multipart field `image`)."""

    reads_only = True  # POST carries the query; nothing is written

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImageSearchSerializer}, responses=ResultListSerializer
    )
    def post(self, request):
        started = time.perf_counter()
        params = ImageSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            vector = image_query_vector(data=params.validated_data["image"].read())
        except InvalidImage as exc:
            raise ValidationError({"image": [str(exc)]}) from exc
        except VisualSearchUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        result = selectors.similar_to_vector(vector=vector, query=_query(params.validated_data))
        return _timed(_body(result, params.validated_data["explain"]), started)


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
        text = " ".join(
            filter(
                None,
                [
                    values["title"],
                    values["brand"],
                    values["model_number"],
                    values["description"][:300],
                ],
            )
        )
        return _search(text, values["k"])


def _search(text: str, k: int) -> Response:
    started = time.perf_counter()
    hits = selectors.search_products(query=text, limit=k) or []
    products = catalog_selectors.products_by_ids(ids=[hit.product_id for hit in hits])
    version = selectors.active_version()
    return _timed(
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


class ModelVersionListApi(generics.ListAPIView):
    """Model versions, newest first (read-only)."""

    serializer_class = ModelVersionOutputSerializer
    queryset = ModelVersion.objects.all()


class JobDetailApi(generics.RetrieveAPIView):
    """A training or embedding job's state and progress."""

    serializer_class = JobOutputSerializer
    queryset = Job.objects.all()
