"""How partners reach the API: key authentication, scope permissions and throttling."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework_api_key.permissions import KeyParser

from core.middleware import has_unstorable_text
from core.sign_in_failures import client_key

from . import keys as partner_keys
from .models import PartnerApiKey

SAFE_METHODS = permissions.SAFE_METHODS


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`: request.auth becomes the partner's key row."""

    def authenticate(self, request):
        # Spaces after the scheme are one separator (RFC 9110 allows several); a key has none.
        key = (KeyParser().get(request) or "").strip(" ")
        if not key:
            return None
        # The hash and revocation are checked once per key and generation (partner_keys);
        # expiry is checked on the row. A NUL would reach the prefix lookup, where PostgreSQL
        # raises (a 500, not a 401).
        api_key = None if has_unstorable_text(key) else partner_keys.verified_key(key)
        if api_key is None or api_key.has_expired:
            raise exceptions.AuthenticationFailed("the API key is invalid, revoked or expired")
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return "Api-Key"  # makes missing credentials a 401 with a WWW-Authenticate challenge


class HasPartnerKey(permissions.BasePermission):
    """A valid partner key (writes need the write scope), or someone signed in to the admin:
    staff may read (the browsable API), only a superuser may write, as a write key does; a
    staff account's own admin permissions are not mapped onto the API.

    Views whose POST only reads (a query too large for a URL: a photo, a batch of SKUs) set
    `reads_only = True`, so read keys may call them.
    """

    message = "this API key is read-only; writes need a key with the write scope"

    def has_permission(self, request, view) -> bool:
        reads = request.method in SAFE_METHODS or getattr(view, "reads_only", False)
        if request.user and request.user.is_staff:
            return reads or request.user.is_superuser
        if not isinstance(request.auth, PartnerApiKey):
            return False
        return reads or request.auth.scope == PartnerApiKey.Scope.WRITE


class PartnerKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per key (by its public prefix), counted in the shared Valkey cache.

    A window opens with a key's first request and allows `rate` requests until it expires. The
    count is one atomic INCR: DRF's default keeps every request time in a list it reads and
    writes back, which two web workers overwrite each other in (losing counts) and which grows
    to the whole rate (600 timestamps, pickled twice per request at 600/min).
    """

    scope = "partner"

    def get_cache_key(self, request, view):
        # The key's own prefix (authentication ran first), not the header's text: one key sent
        # with more spaces would otherwise open a bucket of its own. Without a key, the client's
        # IP, hashed: a cache key keeps no address.
        key = request.auth
        ident = key.prefix if isinstance(key, PartnerApiKey) else client_key(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        count, self.seconds_left = self.cache.incr_expiring(key, self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.seconds_left


class HasWriteKey(HasPartnerKey):
    """A write-scope key (or a superuser) even to read: for personal data, such as a shopper's
    export."""

    message = "this endpoint handles personal data and needs a key with the write scope"

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_staff:
            return request.user.is_superuser
        return (
            isinstance(request.auth, PartnerApiKey)
            and request.auth.scope == PartnerApiKey.Scope.WRITE
        )
