"""Request-level guards that apply to every view: unstorable text, CSP, admin login throttling."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from .sign_in_failures import SignInFailures, SignInPaused

ERROR_UNSTORABLE_TEXT = "the URL contains a NUL character or an unpaired surrogate"
ERROR_LOGIN_THROTTLED = "too many failed sign-in attempts; try again in {minutes} minutes"
API_PREFIX = "/api/"


def has_unstorable_text(value: str) -> bool:
    """NUL cannot be stored in a PostgreSQL text column; a lone surrogate cannot be encoded."""
    return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)


def _client_error(request, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": code, "message": message, "errors": {}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RejectUnstorableTextMiddleware:
    """400 for a path or query string carrying NUL or lone surrogates.

    Without this a NUL in a SKU or filter reaches PostgreSQL, which refuses it with a DataError,
    and the client sees a 500. JSON bodies are checked by core.parsers, form fields by
    DRF's and Django's own character validators.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_unstorable_text(request.path) or any(
            has_unstorable_text(key) or has_unstorable_text(value)
            for key, values in request.GET.lists()
            for value in values
        ):
            return _client_error(request, 400, "invalid", ERROR_UNSTORABLE_TEXT)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sends settings.PRODSIM_CONTENT_SECURITY_POLICY (Django 5.2 has no CSP of its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.PRODSIM_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class AdminLoginThrottleMiddleware:
    """Refuse admin sign-ins for a while after repeated failures from one IP for one username
    (core.sign_in_failures). A failed sign-in is the login view answering 200 (the form again);
    success redirects."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or request.path != reverse("admin:login"):
            return self.get_response(request)
        failures = SignInFailures(request)
        try:
            locked = failures.locked
        except SignInPaused as exc:
            return _client_error(request, 503, "unavailable", str(exc))
        if locked:
            message = ERROR_LOGIN_THROTTLED.format(minutes=failures.minutes)
            return _client_error(request, 429, "throttled", message)
        response = self.get_response(request)
        if response.status_code in (200, 302):
            failures.record(failed=response.status_code == 200)
        return response
