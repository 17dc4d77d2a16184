"""Request-level guards that apply to every view: unstorable text, CSP, admin login throttling."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

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
    """Refuse admin sign-ins for a while after repeated failures from one IP for one username.

    Counted in the shared Valkey cache, so every web process sees the same count. A failed
    sign-in is the login view answering 200 (the form again); success redirects. The IP is the
    client's as the API throttles see it (settings.PRODSIM_TRUSTED_PROXIES): behind a proxy,
    REMOTE_ADDR is the proxy's, and one username's failures from anywhere would lock it out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or request.path != reverse("admin:login"):
            return self.get_response(request)
        key = _login_failures_key(request)
        window = settings.PRODSIM_ADMIN_LOGIN_WINDOW_S
        if cache.get(key, 0) >= settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES:
            message = ERROR_LOGIN_THROTTLED.format(minutes=max(1, window // 60))
            return _client_error(request, 429, "throttled", message)
        response = self.get_response(request)
        if response.status_code == 200:
            cache.add(key, 0, window)
            cache.incr(key)
        elif response.status_code == 302:
            cache.delete(key)
        return response


def _login_failures_key(request) -> str:
    # Hashed: a username is attacker-chosen text, a cache key should be plain ASCII.
    username = request.POST.get("username", "")[:150].lower()
    ident = f"{BaseThrottle().get_ident(request)}\n{username}".encode("utf-8", "replace")
    return f"admin-login-failures:{hashlib.sha256(ident).hexdigest()}"
