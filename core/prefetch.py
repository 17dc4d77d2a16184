"""Fetches a browser makes ahead of a visit that may never come: a prefetch or a prerender
(`Sec-Purpose: prefetch` or `prefetch;prerender` in current browsers, `Purpose: prefetch` from
Chrome's <link rel=prefetch>).

A page that records what the shopper does (a view, impressions, a click) must not answer one:
the fetch would count a visit nobody made, and a prerendered page the shopper then opens is
shown without another request. 503 is what browsers take as "no prefetch here" (the WPT
speculation-rules tests use it): the prefetch is dropped and the real visit comes through, and
is recorded.
"""

import re
from functools import wraps

from django.http import HttpResponse

PREFETCH_REFUSED_STATUS = 503


def is_prefetch(request) -> bool:
    purposes = f"{request.headers.get('Sec-Purpose', '')};{request.headers.get('Purpose', '')}"
    return "prefetch" in {purpose.strip().lower() for purpose in re.split("[;,]", purposes)}


def prefetch_refused(message: str) -> HttpResponse:
    response = HttpResponse(
        message, status=PREFETCH_REFUSED_STATUS, content_type="text/plain; charset=utf-8"
    )
    # Django logs every 5xx at ERROR (django.request): a browser's prerender of the home page is
    # no server error, and each one would page whoever watches for those. Django's own opt-out.
    response._has_been_logged = True
    return response


def refuses_prefetch(message: str):
    """Mark a view that records the visit: a prefetch of it is answered prefetch_refused."""

    def decorator(view):
        @wraps(view)
        def refusing(request, *args, **kwargs):
            if is_prefetch(request):
                return prefetch_refused(message)
            return view(request, *args, **kwargs)

        return refusing

    return decorator
