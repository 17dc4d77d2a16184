from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The shopper's pages: product list and search, product pages with their recommendation
    strips, visual search. Reads through the apps below; owns no tables."""

    name = "storefront"
    verbose_name = "storefront"
