"""What every similar-items endpoint shares: the query it builds and the answer it renders."""

import time

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import selectors as catalog_selectors
from catalog.api.categories import ERROR_NO_CATEGORY, category_paths

from ...selectors import SimilarQuery, SimilarResult


def similar_query(values: dict) -> SimilarQuery:
    # No query for nothing: even an empty filter cost ~0.3 ms of queryset building per request.
    exclude = values["exclude"] and catalog_selectors.product_ids_for_skus(skus=values["exclude"])
    category, categories = _category_filters(values["category"], values["categories"])
    return SimilarQuery(
        k=values["k"],
        category=category,
        categories=categories,
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


def _category_filters(category: str, categories: list[str]) -> tuple[str, tuple[str, ...]]:
    """The category filters as paths. An unknown one is a 400 rather than an empty list a
    partner takes for "nothing similar"; checked here, on a cache miss, as an unknown one is
    never cached, so a cache hit stays free of SQL."""
    named = [*([] if category in ("any", "same") else [category]), *categories]
    if not named:
        return category, ()
    paths = category_paths(named)
    errors = {}
    if category not in ("any", "same") and category not in paths:
        errors["category"] = [ERROR_NO_CATEGORY.format(value=category) + ', or "any"']
    if unknown := [value for value in categories if value not in paths]:
        errors["categories"] = [ERROR_NO_CATEGORY.format(value=value) for value in unknown]
    if errors:
        raise ValidationError(errors)
    return paths.get(category, category), tuple(paths[value] for value in categories)


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
