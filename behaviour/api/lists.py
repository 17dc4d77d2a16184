"""Bought together, also viewed and trending: the similar-items parameters, answer and cache."""

import time

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from similarity.api.serializers import (
    ListParamsSerializer,
    ResultListSerializer,
    SourcelessParamsSerializer,
    sourceless_errors,
    undiversified_errors,
)
from similarity.api.views.responses import similar_query, timed_response
from similarity.api.views.similar import similar_params

from .. import cache, selectors
from ..selectors import BehaviourResult

TRENDING_SKU = "*"  # trending has no source product; its entries share one product generation


def list_params(query_string: str, *, sourceless: bool = False) -> dict:
    """The similar-items parameters of a list these APIs answer: a 400 for `diversity`, which
    none of them re-ranks by, and, for a list without a source product (`sourceless`: trending,
    a visitor's recommendations), for those relative to the source, rather than ignored."""
    params = similar_params(query_string)
    if errors := (sourceless_errors if sourceless else undiversified_errors)(params):
        raise ValidationError(errors)
    return params


def sourceless_params(query_string: str) -> dict:
    return list_params(query_string, sourceless=True)


def result_body(
    result: BehaviourResult, explain: bool, *, model_version: int | None = None
) -> dict:
    """The similar-items answer shape; `explain` holds the tier's evidence and its why-hint.
    `model_version`: the model that ranked the answer, None where none did (counted lists)."""
    return {
        "k_requested": result.k_requested,
        "k_returned": result.k_returned,
        "model_version": model_version,
        "results": [
            {
                "sku": item.product.sku,
                "title": item.product.title,
                "score": round(item.score, 6),
                "tier": item.tier,
                **({"explain": {"why": item.why, **item.evidence}} if explain else {}),
            }
            for item in result.items
        ],
    }


class _ProductListApi(APIView):
    list_name = ""
    selector = None

    @extend_schema(parameters=[ListParamsSerializer], responses=ResultListSerializer)
    def get(self, request, sku: str):
        started = time.perf_counter()
        params = list_params(request.META.get("QUERY_STRING", ""))
        key = cache.entry_key(list_name=self.list_name, sku=sku, params=params)
        if (body := cache.get(key)) is not None:
            return timed_response(body, started, cache_state="hit")
        product = catalog_selectors.product_get(sku=sku, with_images=False)
        if product is None:
            raise NotFound(f"no active product with SKU {sku!r}")
        result = self.selector(product=product, query=similar_query(params))
        body = result_body(result, params["explain"])
        cache.put(key, body)
        return timed_response(body, started)


class BoughtTogetherApi(_ProductListApi):
    """Products bought together with this one, best first; content tiers fill thin events.
    Each product keeps its 30 best partners: a larger k is filled from the tiers below."""

    list_name = "bought_together"
    selector = staticmethod(selectors.bought_together)


class AlsoViewedApi(_ProductListApi):
    """Products that shoppers who viewed this one also viewed; content tiers fill thin events.
    Each product keeps its 30 best partners: a larger k is filled from the tiers below."""

    list_name = "also_viewed"
    selector = staticmethod(selectors.also_viewed)


class TrendingApi(APIView):
    """The most popular products lately (time-decayed), within the filters."""

    @extend_schema(parameters=[SourcelessParamsSerializer], responses=ResultListSerializer)
    def get(self, request):
        started = time.perf_counter()
        params = sourceless_params(request.META.get("QUERY_STRING", ""))
        key = cache.entry_key(list_name="trending", sku=TRENDING_SKU, params=params)
        if (body := cache.get(key)) is not None:
            return timed_response(body, started, cache_state="hit")
        body = result_body(selectors.trending(query=similar_query(params)), params["explain"])
        cache.put(key, body)
        return timed_response(body, started)
