from django.urls import path

from .views import ProductMatchApi, ProductSearchApi, SimilarProductsApi

urlpatterns = [
    path("products/<str:sku>/similar/", SimilarProductsApi.as_view(), name="api-similar"),
    path("match/", ProductMatchApi.as_view(), name="api-match"),
    path("search/", ProductSearchApi.as_view(), name="api-search"),
]
