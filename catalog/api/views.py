from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound

from .. import selectors
from ..models import Product
from .serializers import ProductOutputSerializer


class ProductListApi(generics.ListAPIView):
    """Active products, filterable by category slug and a text query."""

    serializer_class = ProductOutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("category", str, description="Category slug (includes subcategories)"),
            OpenApiParameter("q", str, description="Words that must all appear"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        category = None
        if slug := self.request.query_params.get("category"):
            category = selectors.category_get(slug=slug)
            if category is None:
                raise NotFound("No such category")
        query = self.request.query_params.get("q", "")[:200]
        return selectors.product_list(category=category, query=query).prefetch_related("images")


class ProductDetailApi(generics.RetrieveAPIView):
    """One active product by SKU."""

    serializer_class = ProductOutputSerializer
    lookup_field = "sku"
    queryset = (
        Product.objects.filter(is_active=True).select_related("category").prefetch_related("images")
    )
