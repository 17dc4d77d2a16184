"""Signing in and out of the storefront, so a returning customer's recommendations follow their
own history (storefront.shopper). Accounts are Django users, made by the shop's staff.

Failed sign-ins are throttled per client IP and username like the admin's, by the same rule and
limits (core.sign_in_failures): this form checks the same passwords."""

from urllib.parse import urlsplit

from django.contrib.auth import views as auth_views
from django.urls import reverse

from core.session_turns import session_turns
from core.sign_in_failures import SignInFailures, SignInPaused

ERROR_THROTTLED = "Too many failed sign-ins: try again in {minutes} minutes."


class SignInView(auth_views.LoginView):
    template_name = "storefront/sign_in.html"
    redirect_authenticated_user = True
    next_page = "storefront:product-list"  # without a usable `next` (none, or off-site)

    def post(self, request, *args, **kwargs):
        failures = SignInFailures(request)
        try:
            if failures.locked:
                return self._refused(ERROR_THROTTLED.format(minutes=failures.minutes), 429)
        except SignInPaused as exc:
            return self._refused(str(exc), 503)
        response = super().post(request, *args, **kwargs)
        failures.record(failed=response.status_code == 200)  # the form again: a failure
        return response

    def _refused(self, message: str, status: int):
        form = self.get_form()
        form.errors.clear()
        form.add_error(None, message)
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = status
        return response

    def get_success_url(self):
        url = super().get_success_url()
        # A signed-in customer sent back to this page would loop (Django raises on it).
        if urlsplit(url).path == reverse("storefront:sign-in"):
            return self.get_default_redirect_url()
        return url


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): the session ends, the next visit is a new visitor."""

    next_page = "storefront:product-list"


# Both rewrite the session (a new key, the visitor moved to the customer's id): a page of the
# same session still being rendered must log its events before they are moved.
sign_in = session_turns(SignInView.as_view())
sign_out = session_turns(SignOutView.as_view())
