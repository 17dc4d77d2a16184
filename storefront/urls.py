from django.urls import path

from . import account, basket, privacy, views, visual_search

app_name = "storefront"

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("products/<str:sku>/", views.product_detail, name="product-detail"),
    path("search/photo/", visual_search.visual_search, name="visual-search"),
    path("media/products/<path:path>", views.product_image, name="product-image"),
    path("basket/", basket.basket_detail, name="basket"),
    path("basket/add/<str:sku>/", basket.basket_add, name="basket-add"),
    path("basket/remove/<str:sku>/", basket.basket_remove, name="basket-remove"),
    path("checkout/", basket.checkout, name="checkout"),
    path("checkout/placed/", basket.order_placed, name="order-placed"),
    path("your-data/", privacy.your_data, name="your-data"),
    path("your-data/export/", privacy.your_data_export, name="your-data-export"),
    path("your-data/erase/", privacy.your_data_erase, name="your-data-erase"),
    path("account/sign-in/", account.sign_in, name="sign-in"),
    path("account/sign-out/", account.sign_out, name="sign-out"),
]
