"""Failed sign-ins counted per client IP and username, so a password cannot be guessed by
repetition: the admin's login (core.middleware) and the storefront's share one count (both
doors take the same accounts, so neither adds guesses to the other's).

The username is counted as the sign-in form reads it (stripped, NFKC-normalised: Django's
UsernameField), and case-folded: every spelling that reaches one account (" admin", full-width
letters) adds to one count, else each spelling would be a fresh allowance of guesses.

Counted in the shared Valkey cache, so every web process sees the same count. The IP is the
client's as the API throttles see it (settings.PRODSIM_TRUSTED_PROXIES): behind a proxy,
REMOTE_ADDR is the proxy's, and one username's failures from anywhere would lock it out.
"""

import hashlib
import logging
import unicodedata

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)
ERROR_PAUSED = (
    "signing in is paused while the cache that counts failed attempts is unreachable; "
    "try again in a minute"
)


class SignInPaused(Exception):
    """The failure count cannot be read: a sign-in without it would be an unlimited guess."""


class SignInFailures:
    """The failures of this request's client and username, at either sign-in form."""

    def __init__(self, request):
        username = account_name(request.POST.get("username", ""))
        self.key = f"sign-in-failures:{client_key(request, username)}"

    @property
    def locked(self) -> bool:
        """SignInPaused when the count cannot be read (Valkey unreachable)."""
        try:
            return cache.get(self.key, 0) >= settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES
        except RedisError as exc:
            raise SignInPaused(ERROR_PAUSED) from exc

    @property
    def minutes(self) -> int:
        """How long a lock lasts, as the refusal says it."""
        return max(1, settings.PRODSIM_ADMIN_LOGIN_WINDOW_S // 60)

    def record(self, *, failed: bool) -> None:
        """A failure counts for the window; a success forgets the earlier ones."""
        try:
            if failed:
                cache.add(self.key, 0, settings.PRODSIM_ADMIN_LOGIN_WINDOW_S)
                cache.incr(self.key)
            else:
                cache.delete(self.key)
        except RedisError:  # lost since `locked` read it: the answer stands, one count is lost
            logger.warning("a sign-in was not counted: the cache is unreachable")


def client_key(request, *parts: str) -> str:
    """The client's IP as the API throttles see it, with `parts`, hashed for a cache key: a key
    names no client's address (the cache is not where personal data is kept), and holds plain
    ASCII whatever attacker-chosen text `parts` carry (a username)."""
    ident = "\n".join([BaseThrottle().get_ident(request), *parts]).encode("utf-8", "replace")
    return hashlib.sha256(ident).hexdigest()


def account_name(typed: str) -> str:
    """The account a typed username reaches, as the count knows it: normalised and stripped as
    the sign-in form does, then case-folded (merging spellings only makes the count stricter)."""
    return unicodedata.normalize("NFKC", typed).strip()[:150].casefold()
