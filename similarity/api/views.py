from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors

from .. import selectors
from .serializers import (
    MatchInputSerializer,
    ResultListSerializer,
    SearchQuerySerializer,
    SimilarQuerySerializer,
)


def _listing(k: int, version, results: list[dict]) -> dict:
    return {
        "k_requested": k,
        "k_returned": len(results),
        "model_version": version.pk if version else None,
        "results": results,
    }


class SimilarProductsApi(APIView):
    """Products similar to one product, best first, with an optional score breakdown."""

    @extend_schema(parameters=[SimilarQuerySerializer], responses=ResultListSerializer)
    def get(self, request, sku: str):
        params = SimilarQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = catalog_selectors.product_get(sku=sku)
        if product is None:
            raise NotFound(f"no active product with SKU {sku!r}")
        k = params.validated_data["k"]
        items = selectors.similar_products(
            product=product,
            k=k,
            exclude_variant_group=not params.validated_data["include_variants"],
        )
        results = [
            {
                "sku": item.product.sku,
                "title": item.product.title,
                "score": round(item.score, 6),
                **(
                    {"explain": item.breakdown.as_dict()}
                    if params.validated_data["explain"]
                    else {}
                ),
            }
            for item in items
        ]
        return Response(_listing(k, selectors.active_version(), results))


class ProductMatchApi(APIView):
    """Find this catalogue's products matching another shop's product record (by its words)."""

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
        return _search_response(text, values["k"])


class ProductSearchApi(APIView):
    """Products for a free-text query, by their words and their pictures."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=ResultListSerializer)
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return _search_response(params.validated_data["q"], params.validated_data["k"])


def _search_response(text: str, k: int) -> Response:
    hits = selectors.search_products(query=text, limit=k) or []
    products = catalog_selectors.products_by_ids(ids=[hit.product_id for hit in hits])
    results = [
        {
            "sku": products[hit.product_id].sku,
            "title": products[hit.product_id].title,
            "score": round(hit.score, 6),
            "explain": {"lexical": hit.lexical, "visual": hit.visual},
        }
        for hit in hits
        if hit.product_id in products
    ]
    return Response(_listing(k, selectors.active_version(), results))
