from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The shopper's pages: product list and search, product pages with their recommendation
    strips, visual search. Reads through the apps below; owns no tables. A deleted account is
    its customer's erasure (shopper.customer_forget)."""

    name = "storefront"
    verbose_name = "storefront"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete

        # Whichever door deletes an account (the admin, a shell, a script), the customer's
        # history and sessions go with it.
        post_delete.connect(
            _customer_deleted, sender=get_user_model(), dispatch_uid="storefront-customer-erase"
        )


def _customer_deleted(sender, instance, **kwargs):
    from .shopper import customer_forget

    customer_forget(instance)
