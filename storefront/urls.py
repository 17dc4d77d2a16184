from django.urls import path

from . import views

app_name = "storefront"

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("products/<str:sku>/", views.product_detail, name="product-detail"),
    path("search/photo/", views.visual_search, name="visual-search"),
    path("media/products/<path:path>", views.product_image, name="product-image"),
]
