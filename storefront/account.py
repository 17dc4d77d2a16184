"""Signing in and out of the storefront, so a returning customer's recommendations follow their
own history (storefront.shopper). Accounts are Django users, made by the shop's staff.

Failed sign-ins are throttled per client IP and username like the admin's (core.middleware),
with the same limits: this form checks the same passwords."""

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

ERROR_THROTTLED = "Too many failed sign-ins: try again in {minutes} minutes."


class SignInView(auth_views.LoginView):
    template_name = "storefront/sign_in.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        key = _failures_key(request)
        window = settings.PRODSIM_ADMIN_LOGIN_WINDOW_S
        if cache.get(key, 0) >= settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, ERROR_THROTTLED.format(minutes=max(1, window // 60)))
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form again: a failure
            cache.add(key, 0, window)
            cache.incr(key)
        else:
            cache.delete(key)
        return response


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): the session ends, the next visit is a new visitor."""

    next_page = "storefront:product-list"


def _failures_key(request) -> str:
    # Hashed: a username is attacker-chosen text, a cache key should be plain ASCII.
    username = request.POST.get("username", "")[:150].lower()
    ident = f"{BaseThrottle().get_ident(request)}\n{username}".encode("utf-8", "replace")
    return f"storefront-sign-in-failures:{hashlib.sha256(ident).hexdigest()}"
