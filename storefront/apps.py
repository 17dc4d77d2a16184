from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The shopper's pages: product list and search, product pages with their recommendation
    strips, visual search. Reads through the apps below; owns no tables. A deleted account is
    its customer's erasure (shopper.customer_forget)."""

    name = "storefront"
    verbose_name = "storefront"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, pre_delete

        # Whichever door deletes an account (the admin, a shell, a script), the customer's
        # history and sessions go with it.
        pre_delete.connect(
            _customer_deleting, sender=get_user_model(), dispatch_uid="storefront-customer-note"
        )
        post_delete.connect(
            _customer_deleted, sender=get_user_model(), dispatch_uid="storefront-customer-erase"
        )
        # Whichever door signs a shopper in (the storefront's, the admin's), the session's
        # anonymous history becomes the customer's at once: signed out again before any
        # storefront page, it would be left under an id nobody holds, neither exported nor erased.
        user_logged_in.connect(_signed_in, dispatch_uid="storefront-anonymous-merge")


def _customer_deleting(sender, instance, **kwargs):
    from .shopper import customer_sessions_note

    customer_sessions_note(instance)


def _customer_deleted(sender, instance, **kwargs):
    from .shopper import customer_forget

    customer_forget(instance)


def _signed_in(sender, request, user, **kwargs):
    from .shopper import anonymous_events_merge

    if request is not None:  # a sign-in without a request (a script's) has no session
        anonymous_events_merge(request)
