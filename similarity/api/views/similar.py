"""Products similar to catalogue products: one SKU (cached), or many in one call."""

import functools
import time

from django.http import QueryDict
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors

from ... import cache as similar_cache
from ... import selectors
from ...selectors.serving import rules_epoch
from ..serializers import (
    ResultListSerializer,
    SimilarBatchSerializer,
    SimilarParamsSerializer,
    bracketed_lists,
)
from .responses import result_body, similar_query, timed_response


class SimilarProductsApi(APIView):
    """Products similar to one product, best first: filters, diversity, explain."""

    @extend_schema(parameters=[SimilarParamsSerializer], responses=ResultListSerializer)
    def get(self, request, sku: str):
        started = time.perf_counter()
        params = similar_params(request.META.get("QUERY_STRING", ""))
        # The key is read before the product: a change committed meanwhile bumps a generation,
        # so this answer lands under a key that is already unreachable, never a stale live one.
        key = similar_cache.entry_key(sku=sku, params=params, extra=rules_epoch)
        if (body := similar_cache.get(key)) is not None:
            return timed_response(body, started, cache_state="hit")
        result = selectors.similar_products_for(product=_source(sku), query=similar_query(params))
        body = result_body(result, params["explain"])
        similar_cache.put(key, body)
        return timed_response(body, started)


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
        params = SimilarBatchSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        values = params.validated_data
        query = similar_query(values)  # once: its filters are checked even when no SKU exists
        answers = {}
        for sku in dict.fromkeys(values["skus"]):
            product = catalog_selectors.product_get(sku=sku, with_images=False)
            answers[sku] = (
                None
                if product is None
                else result_body(
                    selectors.similar_products_for(product=product, query=query),
                    values["explain"],
                )
            )
        return Response({"results": answers})


@functools.lru_cache(maxsize=1024)
def similar_params(query_string: str) -> dict:
    """The validated similar-items parameters of a query string (read-only; invalid ones raise,
    and are not kept). Validation is pure and partners repeat the same few parameter sets; a
    fresh serializer deep-copies its fields, ~0.4 ms of a ~10 ms request."""
    # Decoded as WSGIRequest decodes request.GET (WSGI strings carry latin-1 bytes).
    query = bracketed_lists(QueryDict(query_string.encode("iso-8859-1")))
    params = SimilarParamsSerializer(data=query)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _source(sku: str):
    product = catalog_selectors.product_get(sku=sku, with_images=False)
    if product is None:
        raise NotFound(f"no active product with SKU {sku!r}")
    return product
