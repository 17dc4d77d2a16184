"""Failed sign-ins counted per client IP and username, so a password cannot be guessed by
repetition: the admin's login (core.middleware) and the storefront's share one count rule.

Counted in the shared Valkey cache, so every web process sees the same count. The IP is the
client's as the API throttles see it (settings.PRODSIM_TRUSTED_PROXIES): behind a proxy,
REMOTE_ADDR is the proxy's, and one username's failures from anywhere would lock it out.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle


class SignInFailures:
    """The failures of this request's client and username at the form named `scope`."""

    def __init__(self, request, *, scope: str):
        # Hashed: a username is attacker-chosen text, a cache key should be plain ASCII.
        username = request.POST.get("username", "")[:150].lower()
        ident = f"{BaseThrottle().get_ident(request)}\n{username}".encode("utf-8", "replace")
        self.key = f"{scope}-failures:{hashlib.sha256(ident).hexdigest()}"

    @property
    def locked(self) -> bool:
        return cache.get(self.key, 0) >= settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES

    @property
    def minutes(self) -> int:
        """How long a lock lasts, as the refusal says it."""
        return max(1, settings.PRODSIM_ADMIN_LOGIN_WINDOW_S // 60)

    def record(self, *, failed: bool) -> None:
        """A failure counts for the window; a success forgets the earlier ones."""
        if failed:
            cache.add(self.key, 0, settings.PRODSIM_ADMIN_LOGIN_WINDOW_S)
            cache.incr(self.key)
        else:
            cache.delete(self.key)
