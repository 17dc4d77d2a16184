"""Django's redirects to the slashed URL and to https, answered so that a client keeps its
method and body. Django answers both with a 301, which HTTP clients follow for a PUT, PATCH or
POST by dropping the body (Python's requests) or by turning it into a GET (Go's net/http): a
partner's stock feed writing `/api/v1/products/MUG-1` without its slash got a 200 for a PATCH
that changed nothing. A 308 is the same permanent redirect with the method and body kept."""

from django.http.response import HttpResponseRedirectBase
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.http import escape_leading_slashes

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class HttpResponsePermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308


class SlashRedirectMiddleware(CommonMiddleware):
    """CommonMiddleware whose slash redirect of a write is a 308 (Django's own refuses it in
    DEBUG with an error page and answers it with a 301 otherwise)."""

    def process_response(self, request, response):
        if (
            request.method not in SAFE_METHODS
            and response.status_code == 404
            and self.should_redirect_with_slash(request)
        ):
            slashed = escape_leading_slashes(request.get_full_path(force_append_slash=True))
            return HttpResponsePermanentRedirectKeepingMethod(slashed)
        return super().process_response(request, response)


class HttpsRedirectMiddleware:
    """The https redirect of a plain-http write as a 308, ahead of Django's SecurityMiddleware
    (which stays in MIDDLEWARE by its own name: `check --deploy` looks for it there), with its
    settings: SECURE_SSL_REDIRECT, SECURE_SSL_HOST, SECURE_REDIRECT_EXEMPT."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._security = SecurityMiddleware(get_response)

    def __call__(self, request):
        if request.method not in SAFE_METHODS:
            redirect = self._security.process_request(request)
            if redirect is not None:
                return HttpResponsePermanentRedirectKeepingMethod(redirect["Location"])
        return self.get_response(request)
