"""What every similar-items endpoint shares: the query it builds and the answer it renders."""

import time

from rest_framework.exceptions import APIException
from rest_framework.response import Response

from catalog import selectors as catalog_selectors

from ...selectors import SimilarQuery, SimilarResult


class ServiceUnavailable(APIException):
    status_code = 503
    default_code = "unavailable"


def similar_query(values: dict) -> SimilarQuery:
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


def result_body(result: SimilarResult, explain: bool) -> dict:
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


def timed_response(body: dict, started: float, *, cache_state: str = "miss") -> Response:
    # Timing goes in a header, so a cached body is byte-identical to a fresh one.
    elapsed = (time.perf_counter() - started) * 1000
    return Response(
        body, headers={"Server-Timing": f"app;dur={elapsed:.2f}", "X-Cache": cache_state}
    )
