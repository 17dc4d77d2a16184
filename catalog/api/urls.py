from django.urls import path

from .views import ProductDetailApi, ProductListApi

urlpatterns = [
    path("products/", ProductListApi.as_view(), name="api-product-list"),
    path("products/<str:sku>/", ProductDetailApi.as_view(), name="api-product-detail"),
]
