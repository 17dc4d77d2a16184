from django.urls import path

from .views import (
    ImageSearchApi,
    JobDetailApi,
    ModelVersionListApi,
    ProductMatchApi,
    SimilarBatchApi,
    SimilarProductsApi,
    TextSearchApi,
)

urlpatterns = [
    path("products/<str:sku>/similar/", SimilarProductsApi.as_view(), name="api-similar"),
    path("similar/batch/", SimilarBatchApi.as_view(), name="api-similar-batch"),
    path("search/image/", ImageSearchApi.as_view(), name="api-search-image"),
    path("search/text/", TextSearchApi.as_view(), name="api-search-text"),
    path("match/", ProductMatchApi.as_view(), name="api-match"),
    path("model-versions/", ModelVersionListApi.as_view(), name="api-model-versions"),
    path("jobs/<int:pk>/", JobDetailApi.as_view(), name="api-job"),
]
